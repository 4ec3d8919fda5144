#!/usr/bin/env bash
# The real Autobahn|Testsuite (pinned image) against wsbolt's testees, for
# machines with Docker (Linux: the container shares the host network so it
# reaches the testees on 127.0.0.1).
#
#   autobahn/run-docker.sh [servers|clients|both]
#
# servers: testee-server.mjs on 9001 (native addon) and 9002 (WSBOLT_NO_NATIVE=1),
#          the suite as fuzzing client (fuzzingclient.json).
# clients: the suite as fuzzing server on 9001 (fuzzingserver.json), testee-client.mjs
#          run once per backend (agents wsbolt-native, wsbolt-fallback).
# Reports land in autobahn/reports/docker/{servers,clients}/ and are checked with
# autobahn/check.mjs, with the same rules as the in-repo harness; the exit status
# is non-zero if any case is below OK.
set -euo pipefail

IMAGE="${AUTOBAHN_IMAGE:-crossbario/autobahn-testsuite:25.10.1@sha256:519915fb568b04c9383f70a1c405ae3ff44ab9e35835b085239c258b6fac3074}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
OUT="$HERE/reports/docker"
WHAT="${1:-both}"
NAME="wsbolt-autobahn-$$"
pids=()

cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
  docker rm -f "$NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "nothing is listening on port $1" >&2
  return 1
}

case "$WHAT" in servers | clients | both) ;; *) echo "usage: $0 [servers|clients|both]" >&2; exit 2 ;; esac
command -v docker >/dev/null || { echo "docker is required (use npm run autobahn for the in-repo harness)" >&2; exit 2; }

mkdir -p "$OUT"
docker pull "$IMAGE"
(cd "$ROOT" && npx tsc -p tsconfig.build.json)
status=0

if [ "$WHAT" != clients ]; then
  PORT=9001 WSBOLT_NO_NATIVE= node "$HERE/testee-server.mjs" &
  pids+=($!)
  PORT=9002 WSBOLT_NO_NATIVE=1 node "$HERE/testee-server.mjs" &
  pids+=($!)
  wait_port 9001
  wait_port 9002
  docker run --rm --network host -v "$HERE:/config:ro" -v "$OUT:/reports" --name "$NAME" "$IMAGE" \
    wstest --mode fuzzingclient --spec /config/fuzzingclient.json
  kill ${pids[@]+"${pids[@]}"} 2>/dev/null || true
  pids=()
  node "$HERE/check.mjs" "$OUT/servers/index.json" || status=1
fi

if [ "$WHAT" != servers ]; then
  docker run -d --network host -v "$HERE:/config:ro" -v "$OUT:/reports" --name "$NAME" "$IMAGE" \
    wstest --mode fuzzingserver --spec /config/fuzzingserver.json >/dev/null
  wait_port 9001
  AUTOBAHN_URL=ws://127.0.0.1:9001 AGENT=wsbolt-native WSBOLT_NO_NATIVE= node "$HERE/testee-client.mjs"
  AUTOBAHN_URL=ws://127.0.0.1:9001 AGENT=wsbolt-fallback WSBOLT_NO_NATIVE=1 node "$HERE/testee-client.mjs"
  docker rm -f "$NAME" >/dev/null
  node "$HERE/check.mjs" "$OUT/clients/index.json" || status=1
fi

exit "$status"
