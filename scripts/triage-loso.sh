#!/bin/sh
# Leave-one-set-out scoring of the triage net (src/tmodel.c): for each set
# named (base names of tests/safety/), refits the net without it through
# scripts/fit-triage.sh (HOLD_OUT=that set; sealed sets are skipped there as
# always), puts the model beside a copy of policy/ (links to every other
# file) and scores that one set with eval_safety_eval --quiet: per-class
# recall and ordinary questions refused, one line a set. Each set is held
# out of its own fit only, so every line is an honest held-out figure for
# the fitting recipe, not for the shipped model. Fit options (--seeds 3,
# --max-fpr-refuse ...) are passed on to fit_triage.py. Usage:
# [SETS="blind-2026-12-03-s17a.tsv ..."] [KEEP=dir] sh scripts/triage-loso.sh [fit options]
# KEEP keeps each held-out fit's model in dir (default: a temporary
# directory, removed). Refuses a set named in tests/sealed.list.
set -eu
SETS=${SETS:-"blind-2026-12-03-s16b.tsv blind-2026-12-03-s17a.tsv blind-2026-12-03-s17b.tsv dev-2026-12-03-x1.tsv dev-2026-12-03-x4.tsv"}
EV=build/release/tests/eval_safety_eval
make --no-print-directory "$EV" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${KEEP:-$tmp}
mkdir -p "$out" "$tmp/policy"
for f in policy/*; do
    case "$(basename "$f")" in triage-model.tsv) continue ;; esac
    ln -s "$(pwd)/$f" "$tmp/policy/$(basename "$f")"
done
for s in $SETS; do
    if grep -qxF "$s" tests/sealed.list; then
        echo "$s: sealed (tests/sealed.list), not scored" >&2
        exit 2
    fi
    HOLD_OUT="$s" OUT="$out/model-$s" sh scripts/fit-triage.sh "$@" > "$out/fit-$s.log"
    ln -sf "$out/model-$s" "$tmp/policy/triage-model.tsv"
    printf '%-26s' "$s"
    "$EV" --quiet "tests/safety/$s" "$tmp/policy/safety.json" 2>&1 | awk '
        /^  (emergency|crisis|unsafe|medical|out_of_scope) / && $5 != "0" {
            printf " %s %s", $1, $2 }
        /^  benign refused/ { printf "  ordinary refused %s of %s", $3, $5 }
        END { print "" }'
done
