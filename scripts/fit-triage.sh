#!/bin/sh
# Refits policy/triage-model.tsv, the fitted net under the triage rules
# (src/tmodel.c), on every labelled safety set in tests/safety/ and, as
# ordinary questions, the parent questions of tests/answers/ and of
# tests/retrieval/ (questions-*, plain-*: each has a passage to answer it). Sets written
# to be scored once (sealed) must not be in tests/safety/ until they have
# been scored. Usage: [HOLD_OUT="a.tsv b.tsv"] [OUT=file] sh scripts/fit-triage.sh
# [--max-fpr 0.02] [--max-fpr-refuse 0.004]; HOLD_OUT names sets of
# tests/safety/ left out of the fit, to score them honestly afterwards.
set -eu
BIN=build/release/bench_triage_features
make --no-print-directory "$BIN" >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for f in tests/safety/*.tsv; do
    case "$f" in */output.tsv) continue ;; esac     # the output filter's set, not questions
    case " ${HOLD_OUT:-} " in *" $(basename "$f") "*) echo "held out: $f" >&2; continue ;; esac
    "$BIN" < "$f" > "$dir/$(basename "$f")"
done
for f in tests/answers/blind-*.tsv tests/answers/dev-*.tsv; do
    awk -F'\t' 'NF == 2 { print "none\t" $2 }' "$f"
done | "$BIN" > "$dir/answers.tsv"
for f in tests/retrieval/questions-*.tsv tests/retrieval/plain-*.tsv; do   # the retrieval sets' parent questions
    awk -F'\t' 'NF >= 2 && $1 !~ /^#/ { print "none\t" $2 }' "$f"
done | "$BIN" > "$dir/retrieval.tsv"
for f in tests/answers/conv-*.tsv; do                # conversation turns: all ordinary
    awk -F'\t' 'NF == 4 { print "none\t" $4 }' "$f"
done | "$BIN" > "$dir/conversations.tsv"
python3 tests/eval/fit_triage.py "${OUT:-policy/triage-model.tsv}" "$dir"/*.tsv "$@"
