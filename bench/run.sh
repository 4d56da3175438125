#!/bin/sh
# Runs every coachd benchmark with one command (`make bench`). Figures go to
# stdout; docs/benchmarks.md records them with the machine they came from.
set -e
cd "$(dirname "$0")/.."
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "== retrieval latency (bench/retrieval.c)"
./build/release/bench_retrieval
echo "== time to first chunk (bench/stream.mjs ttfc)"
node bench/stream.mjs ttfc --n 2000
echo "== 1,000 concurrent streams (bench/stream.mjs load)"
node bench/stream.mjs load --streams 1000
echo "== 10,000 idle subscribers (bench/stream.mjs idle)"
node bench/stream.mjs idle --subs 10000 --hold 20
echo "== what one store call costs the loop, SQLite and PostgreSQL (bench/storecost.c)"
tmp=$(mktemp -d)
./build/release/bench_storecost "$tmp/cost.db" 2000
PGTMP_DURABLE=1 sh scripts/pgtmp.sh run sh -c './build/release/bench_storecost "$COACHD_PG_URL" 2000'
rm -rf "$tmp"
echo "== 1 instance on SQLite against 2 on PostgreSQL (bench/cluster.mjs)"
node bench/cluster.mjs sqlite --open 100,300
PGTMP_DURABLE=1 sh scripts/pgtmp.sh run node bench/cluster.mjs pg --open 100,300
echo "== a 600-message session: page reads and DELETE (bench/history.mjs)"
node bench/history.mjs --questions 300 --reads 30
if [ -x bench/relay.sh ] || [ -f bench/relay.sh ]; then
  echo "== OpenAI-compatible relay (bench/relay.sh)"
  sh bench/relay.sh
fi
