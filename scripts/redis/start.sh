#!/usr/bin/env bash
# A throwaway redis-server for trying the Redis adapter by hand: 127.0.0.1
# only, no persistence, in the foreground (Ctrl-C stops it).
#   bash scripts/redis/start.sh [port]     (default 6379)
set -euo pipefail
PORT="${1:-6379}"
exec redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "${TMPDIR:-/tmp}"
