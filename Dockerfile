# The feed service with Litestream, for `fly deploy` (linux/amd64).
# Build stage: native better-sqlite3 and the TypeScript build, then production packages only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY patches ./patches
COPY scripts/postinstall.mjs ./scripts/postinstall.mjs
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Run stage: compiled JavaScript and production node_modules only (with the Litestream
# 0.3.13 binary of @flydotio/litestream-linux-x64), run as the unprivileged `node` user.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=8080 \
    METRICS_PORT=9091 \
    LITESTREAM_METRICS_ADDR=:9090
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# package.json makes dist/ run as ES modules ("type": "module") and gives the version;
# litestream.yml is the launcher's Litestream configuration.
COPY package.json litestream.yml ./
COPY --chmod=755 scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 8080 9091
# As root only long enough to hand the mounted volume to `node`; see the script.
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
# The launcher restores a missing database, then runs the service beside
# `litestream replicate` on the primary; on a replica it runs the follower and service.
# A restore inside the machine: `node dist/bin/restore.js` (see docs/operations.md).
CMD ["node", "dist/bin/launcher.js"]
