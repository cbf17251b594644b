#!/bin/sh
# The image's entrypoint. Fly mounts the volume at /data owned by root; the service runs
# as the unprivileged `node` user, so the volume is handed to it first, then root is dropped.
set -eu
if [ "$(id -u)" = "0" ]; then
  mkdir -p "${DATA_DIR:-/data}"
  chown node:node "${DATA_DIR:-/data}"
  # Files a root process or an older image left behind.
  find "${DATA_DIR:-/data}" -xdev ! -user node -exec chown node:node {} +
  exec setpriv --reuid=node --regid=node --init-groups "$@"
fi
exec "$@"
