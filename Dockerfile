# The feed service with Litestream, for `fly deploy` (linux/amd64).
# Build stage: native better-sqlite3 and the TypeScript build.
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

# Run stage: node_modules holds the Litestream 0.3.13 binary (@flydotio/litestream-linux-x64).
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
EXPOSE 8080 9090
# The launcher restores a missing database, then runs the service under `litestream replicate -exec`.
CMD ["node", "dist/launcher.js"]
