#!/bin/sh
# triage_compare.sh — checks that a change to the safety matcher changes no
# verdict: every question of tests/safety/*.tsv through safety_triage
# (bench_triage --dump 2: category, rule, protocol, notice, language; then the
# 500 joined ~2,000-character stories) and the
# counts eval_safety_eval prints for every set, saved once as a baseline
# and compared after.
#
#   sh bench/triage_compare.sh save DIR     record the baseline into DIR
#   sh bench/triage_compare.sh check DIR    compare with it (exit 1 on any difference)
#
# SETS=DIR reads the question sets from DIR instead of tests/safety (a
# directory of links without the day's sealed sets, which no helper may
# score).
#
# Uses the release build (build/release/bench_triage and
# build/release/tests/eval_safety_eval); run from the repository root.
set -eu
mode=${1:?save or check}; dir=${2:?directory}
B=build/release
S=${SETS:-tests/safety}
out=$dir/$mode
mkdir -p "$out"
"$B/bench_triage" --dump 2 --dir "$S" > "$out/verdicts.txt"
for f in "$S"/*.tsv; do
  n=$(basename "$f" .tsv)
  # exit status is part of the record (floors hold or not); output.tsv is not a question set
  rc=0; "$B/tests/eval_safety_eval" --quiet "$f" > "$out/eval-$n.txt" 2>&1 || rc=$?
  echo "exit $rc" >> "$out/eval-$n.txt"
done
if [ "$mode" = check ]; then
  if diff -r "$dir/save" "$out" > "$dir/diff.txt"; then
    echo "triage_compare: $(wc -l < "$out/verdicts.txt") verdicts and $(ls "$S"/*.tsv | wc -l) eval outputs identical"
  else
    echo "triage_compare: DIFFERENT (see $dir/diff.txt)"; head -20 "$dir/diff.txt"; exit 1
  fi
fi
