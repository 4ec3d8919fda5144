#!/usr/bin/env bash
# Makes sure redis-server is installed (Debian/Ubuntu). The scaling tests
# (test/scale) start and stop their own throwaway redis-server on a free port,
# so nothing needs to be running; in CI (CI set) a missing redis-server fails
# them instead of skipping them.
#   bash scripts/redis/install.sh
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  redis-server --version
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
redis-server --version
