#!/bin/sh
# relay.sh — one command for the openai relay benchmark (see bench/relay.mjs
# and docs/openai.md): raises the open-file limit, builds the release
# coachd, and compares it with bench/peer_relay.mjs at N = 100 and 1000
# concurrent streams. Extra arguments go to relay.mjs, e.g.
#   sh bench/relay.sh --n 100,1000,2000 --json /tmp/relay.json
set -e
cd "$(dirname "$0")/.."
# each stream holds ~4 sockets across the processes; coachd raises its own
# soft limit to the hard one, the node processes need it from here
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 20000 2>/dev/null || true
echo "open files: $(ulimit -n)"
make --no-print-directory WERROR=1 coachd build/release/bench_relayload >/dev/null
exec node bench/relay.mjs "$@"
