#!/bin/sh
# Checks that scripts/fit-triage.sh would fit on no sealed set: every set it
# lists (LIST_ONLY=1) is a dev set or dated before its SEALED_FROM cut and
# not named in tests/sealed.list, and
# HOLD_OUT removes what it names. Reads file names only, never a set's text.
set -eu
cut=$(sed -n 's/^SEALED_FROM=\${SEALED_FROM:-\([0-9-]*\)}$/\1/p' scripts/fit-triage.sh)
[ -n "$cut" ] || { echo "check_fit_inputs: no SEALED_FROM default in scripts/fit-triage.sh" >&2; exit 1; }
bad=0
for f in $(LIST_ONLY=1 sh scripts/fit-triage.sh 2>/dev/null); do
    b=$(basename "$f")
    case "$b" in dev-*) continue ;; esac
    if [ -f tests/sealed.list ] && grep -qxF "$b" tests/sealed.list; then
        echo "check_fit_inputs: listed sealed set in the fit: $f" >&2; bad=1
    fi
    d=$(printf '%s\n' "$b" | grep -o '20[0-9][0-9]-[0-1][0-9]-[0-3][0-9]' | head -n 1 || true)
    if [ -n "$d" ] && ! expr "x$d" \< "x$cut" >/dev/null; then
        echo "check_fit_inputs: sealed set in the fit: $f" >&2; bad=1
    fi
done
one=$(LIST_ONLY=1 sh scripts/fit-triage.sh 2>/dev/null | head -n 1)
if LIST_ONLY=1 HOLD_OUT="$(basename "$one")" sh scripts/fit-triage.sh 2>/dev/null | grep -qx "$one"; then
    echo "check_fit_inputs: HOLD_OUT did not remove $one" >&2; bad=1
fi
# a cut moved into the past seals the older blind sets too
if LIST_ONLY=1 SEALED_FROM=2026-12-02 sh scripts/fit-triage.sh 2>/dev/null | grep -q 'blind-2026-12-02-'; then
    echo "check_fit_inputs: SEALED_FROM=2026-12-02 still reads 2026-12-02 blind sets" >&2; bad=1
fi
# a listed set is skipped whatever its date
probe=$(LIST_ONLY=1 sh scripts/fit-triage.sh 2>/dev/null | grep '/blind-' | head -n 1)
if [ -n "$probe" ]; then
    list=$(mktemp); basename "$probe" > "$list"
    if LIST_ONLY=1 SEALED_LIST="$list" sh scripts/fit-triage.sh 2>/dev/null | grep -qx "$probe"; then
        echo "check_fit_inputs: SEALED_LIST did not remove $probe" >&2; bad=1
    fi
    rm -f "$list"
fi
n=$(grep -cv '^#' tests/sealed.list 2>/dev/null || echo 0)
[ "$bad" = 0 ] && echo "fit inputs: no sealed set (cut $cut, $n listed)"
exit "$bad"
