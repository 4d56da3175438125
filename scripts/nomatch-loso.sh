#!/bin/sh
# nomatch-loso.sh - refits the no-match weights (kb.c KB_MODEL_TN_WEIGHTS)
# on the out-of-fold outputs of the readers that scripts/topic-loso.sh left
# in $WORK (topic39, session 12; tm38's method with the leave-one-set-out
# readers in place of models A/B/N): each outsider set in LOSO is dumped by
# the reader fitted without it, less its stale nomatch lines, tests/retrieval
# by the first of those readers (no reader is fitted on tests/retrieval), and
# tests/eval/fit_nomatch.py --topic --cv runs over the dumps: for each set in
# turn the weights are fitted on the others and the set is scored. It prints
# the table and the weights fitted on all the dumps; it changes no tracked
# file.
#
# usage: WORK=/tmp/loso sh scripts/nomatch-loso.sh   (after topic-loso.sh with the same WORK and LOSO)
#        NOMATCH_ARGS="--lead" ...   (more fit_nomatch.py options: --lead, --key)
set -eu
A=tests/answers
LOSO=${LOSO:-"blind-2026-12-04-r14.tsv dev-2026-12-04-r15.tsv blind-2026-12-04-r13.tsv blind-2026-12-03-r12.tsv blind-2026-12-03-r11.tsv dev-2026-12-03-x10.tsv"}
WORK=${WORK:?WORK must name topic-loso.sh\'s directory}
E=build/release/tests/eval_answers_eval
mkdir -p "$WORK/sets" "$WORK/dump"
dumps=""
first=""
for h in $LOSO; do
    [ -n "$first" ] || first=$h
    python3 - "$WORK/stale.txt" "$A/$h" "$WORK/sets/$h" <<'EOF'
import sys
stale = set(l.rstrip('\n') for l in open(sys.argv[1], encoding='utf-8'))
out = []
for l in open(sys.argv[2], encoding='utf-8'):
    p = l.rstrip('\n').split('\t')
    if len(p) >= 2 and p[0].strip() == 'nomatch' and p[-1] in stale:
        continue
    out.append(l)
open(sys.argv[3], 'w', encoding='utf-8').writelines(out)
EOF
    $E --kb "$WORK/kb_$h" --dump "$WORK/sets/$h" | grep '^dump' > "$WORK/dump/$h.txt"
    dumps="$dumps $WORK/dump/$h.txt"
done
$E --kb "$WORK/kb_$first" --dump tests/retrieval/*.tsv | grep '^dump' > "$WORK/dump/retrieval.txt"
# shellcheck disable=SC2086
python3 tests/eval/fit_nomatch.py --topic ${NOMATCH_ARGS:-} --cv $dumps "$WORK/dump/retrieval.txt"
