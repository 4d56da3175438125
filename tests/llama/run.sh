#!/usr/bin/env bash
# coachd --engine openai against the real llama.cpp server (llama-server),
# with a tiny hand-built model (tests/llama/make_model.py). One command, from
# the repository root, as root:
#
#   bash tests/llama/run.sh          (or: make test-llama)
#
# Environment:
#   LLAMA_SID      Debian sid chroot with llama-server and python3-gguf;
#                  made here with debootstrap when missing (default build/llama-sid)
#   LLAMA_MIRROR   Debian mirror for that (default http://deb.debian.org/debian)
#   COACHD_BIN     coachd binary to test (default: `make coachd`, then ./coachd)
#   LLAMA_THREADS  llama-server threads (default 2)
#   KEEP=1         keep the scratch directory (logs, captures) afterwards
# See tests/llama/README.md.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
SID=${LLAMA_SID:-build/llama-sid}
case $SID in /*) ;; *) SID=$ROOT/$SID ;; esac
MIRROR=${LLAMA_MIRROR:-http://deb.debian.org/debian}
THREADS=${LLAMA_THREADS:-2}
PKGS="llama.cpp-tools llama.cpp-tests python3-gguf python3-numpy"
APT_OPTS=(-o Acquire::Check-Valid-Until=false)   # the mirror's Release may be "expired"

say() { printf '%s\n' "== $*"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (chroot, debootstrap)"
for c in node curl; do command -v "$c" >/dev/null || die "$c is not installed"; done
command -v sqlite3 >/dev/null || echo "note: no sqlite3 CLI, token usage will not be checked"

# ---- 1. the chroot -------------------------------------------------------
if [ ! -x "$SID/usr/bin/llama-server" ] || ! chroot "$SID" python3 -c 'import gguf, numpy' 2>/dev/null; then
    if [ ! -x "$SID/usr/bin/apt-get" ]; then
        if ! command -v debootstrap >/dev/null; then
            say "installing debootstrap"
            apt-get update -q && apt-get install -y -q debootstrap
        fi
        say "debootstrap sid into $SID (a few minutes)"
        mkdir -p "$SID"
        debootstrap --variant=minbase sid "$SID" "$MIRROR"
    fi
    say "installing $PKGS in the chroot"
    cp -L /etc/resolv.conf "$SID/etc/resolv.conf" 2>/dev/null || true
    chroot "$SID" apt-get "${APT_OPTS[@]}" update -q
    chroot "$SID" env DEBIAN_FRONTEND=noninteractive \
        apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends $PKGS
fi
say "llama-server: $(chroot "$SID" llama-server --version 2>&1 | grep -m1 version)"

# ---- 2. coachd ---------------------------------------------------------------
if [ -z "${COACHD_BIN:-}" ]; then
    say "make coachd"
    make --no-print-directory coachd >/dev/null
    COACHD_BIN=$ROOT/coachd
fi
[ -x "$COACHD_BIN" ] || die "coachd binary not found: $COACHD_BIN"
say "coachd: $COACHD_BIN"

# ---- scratch directory inside the chroot, cleanup --------------------------
mkdir -p "$SID/tmp"
WORK=$(mktemp -d "$SID/tmp/coachd-llama.XXXXXX")
IN=${WORK#"$SID"}                     # the same directory, seen from the chroot
PIDS=()
cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ] || [ $rc != 0 ]; then echo "logs and captures kept in $WORK"
    else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 3. the model and two llama-servers -------------------------------------
say "building the model"
cp tests/llama/make_model.py "$WORK/"
chroot "$SID" python3 "$IN/make_model.py" "$IN/model.gguf" "$IN/model.json"
chroot "$SID" python3 "$IN/make_model.py" "$IN/think.gguf" "$IN/think.json" --think

free_port() {
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_llama NAME CTX [MODEL [ARGS...]]: starts llama-server, sets LLAMA_PORT
# and LLAMA_LASTPID
start_llama() {
    local name=$1 ctx=$2 model=${3:-model}
    shift 2; [ $# -gt 0 ] && shift
    LLAMA_PORT=$(free_port)
    mkdir -p "$WORK/prompts-$name"
    chroot "$SID" llama-server -m "$IN/$model.gguf" --host 127.0.0.1 --port "$LLAMA_PORT" \
        --jinja -c "$ctx" -np 1 -t "$THREADS" --log-prompts-dir "$IN/prompts-$name" "$@" \
        >"$WORK/llama-$name.log" 2>&1 &
    LLAMA_LASTPID=$!
    PIDS+=("$LLAMA_LASTPID")
    for _ in $(seq 1 600); do
        curl -sf "http://127.0.0.1:$LLAMA_PORT/health" >/dev/null 2>&1 && break
        kill -0 "$LLAMA_LASTPID" 2>/dev/null || { tail -20 "$WORK/llama-$name.log"; die "llama-server $name exited"; }
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$LLAMA_PORT/health" >/dev/null || die "llama-server $name not healthy after 60 s"
    say "llama-server $name: -c $ctx on 127.0.0.1:$LLAMA_PORT (pid $LLAMA_LASTPID)"
}

# The main server needs room for coachd's prompt plus --max-tokens 700: with
# this vocabulary every prompt byte is a token and every space three (U+2581),
# 11,640 tokens for the test question.
start_llama main 16384
MAIN_PORT=$LLAMA_PORT MAIN_PID=$LLAMA_LASTPID
start_llama small 256
SMALL_PORT=$LLAMA_PORT
# The thinking model, served without a reasoning parser (its thoughts come in
# the content) and with one (they come as reasoning_content).
start_llama think-raw 16384 think --reasoning-format none
THINK_RAW_PORT=$LLAMA_PORT
start_llama think-parsed 16384 think --reasoning-format deepseek
THINK_PARSED_PORT=$LLAMA_PORT

# ---- 4-6. the checks ------------------------------------------------------------
# The last case SIGKILLs the main llama-server; bash's "Killed" job notice
# goes to /dev/null (fd 3 is the real stderr meanwhile).
rc=0
exec 3>&2 2>/dev/null
COACHD_BIN=$COACHD_BIN LLAMA_URL=http://127.0.0.1:$MAIN_PORT LLAMA_PID=$MAIN_PID \
LLAMA_SMALL_URL=http://127.0.0.1:$SMALL_PORT LLAMA_PROMPTS_DIR=$WORK/prompts-main \
MODEL_JSON=$WORK/model.json WORK=$WORK THINK_JSON=$WORK/think.json \
LLAMA_THINK_RAW_URL=http://127.0.0.1:$THINK_RAW_PORT LLAMA_THINK_PARSED_URL=http://127.0.0.1:$THINK_PARSED_PORT \
    node tests/llama/check.mjs 2>&3 || rc=$?
kill -0 "$MAIN_PID" 2>/dev/null || wait "$MAIN_PID" || true
exec 2>&3 3>&-
if [ $rc = 0 ]; then echo "test-llama: PASS"; else echo "test-llama: FAIL"; fi
exit $rc
