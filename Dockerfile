# The feed service with Litestream, for `fly deploy` (linux/amd64).
# Build stage: native better-sqlite3 and the TypeScript build, then production packages only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Run stage: compiled JavaScript, production node_modules (with the Litestream 0.3.13 binary
# of @flydotio/litestream-linux-x64), run as the unprivileged `node` user.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=8080 \
    LITESTREAM_METRICS_ADDR=:9090
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# litestream.yml for the launcher; src and scripts for `npm run restore` (run by tsx).
COPY package.json litestream.yml tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 8080 9090
# As root only long enough to hand the mounted volume to `node`; see the script.
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
# The launcher restores a missing database, then runs the service under
# `litestream replicate -exec` on the primary; on a replica it runs the follower and service.
CMD ["node", "dist/launcher.js"]
