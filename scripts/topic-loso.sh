#!/bin/sh
# topic-loso.sh - leave-one-set-out check of a topic-reader recipe (topic39,
# session 12): for each outsider set named in LOSO, the reader is fitted by
# tests/eval/fit_topicnet.py on the passages and every set of the recipe
# except that one (FIT_ARGS passed through), dropped into a copy of kb/, and
# the left-out set is scored by answers_eval with the no-match weights
# compiled into the current binary. It changes no tracked file; the readers
# stay in $WORK/kb_<set> for further scoring.
#
# usage: sh scripts/topic-loso.sh
#        WORK=/tmp/loso FIT_ARGS="--l2 3e-4" JOBS=2 sh scripts/topic-loso.sh
#        SETS="..." LOSO="..." (base names under tests/answers; defaults below:
#        the shipped reader's sets, session 16's six left-out sets; topic39's
#        were R1-R8, D2, R10, R11, X10 and X10, R11, R10, R7, R8)
# The stale nomatch list (stale_nomatch.py --passages) is made once over all
# sets: a line's staleness depends only on its own set's date, so this equals
# fit-topic-model.sh's list for any subset. Sealed sets are refused by
# fit_topicnet.py.
set -eu
A=tests/answers
SETS=${SETS:-"blind-2026-12-01-r1.tsv blind-2026-12-01-r2.tsv blind-2026-12-02-r3.tsv
      blind-2026-12-02-r4.tsv blind-2026-12-02-r5.tsv blind-2026-12-02-r6.tsv
      blind-2026-12-02-r7.tsv blind-2026-12-02-r8.tsv dev-2026-12-01-d2.tsv
      blind-2026-12-03-r10.tsv blind-2026-12-03-r11.tsv blind-2026-12-03-r12.tsv
      blind-2026-12-04-r13.tsv blind-2026-12-04-r14.tsv dev-2026-12-04-r15.tsv
      dev-2026-12-03-x10.tsv dev-2026-12-04-rank41.tsv"}
LOSO=${LOSO:-"blind-2026-12-04-r14.tsv dev-2026-12-04-r15.tsv blind-2026-12-04-r13.tsv blind-2026-12-03-r12.tsv blind-2026-12-03-r11.tsv dev-2026-12-03-x10.tsv"}
FIT_ARGS=${FIT_ARGS:-}
JOBS=${JOBS:-1}
WORK=${WORK:-$(mktemp -d)}
E=build/release/tests/eval_answers_eval
mkdir -p "$WORK"
make -j2 --no-print-directory build/release/bench_topic_features $E >&2
all=""
for s in $SETS; do all="$all $A/$s"; done
[ -s "$WORK/stale.txt" ] || python3 tests/eval/stale_nomatch.py --passages $all > "$WORK/stale.txt"
echo "topic-loso: $(wc -l < "$WORK/stale.txt") stale nomatch lines" >&2
one() {
    h=$1
    fit=""
    for s in $SETS; do [ "$s" = "$h" ] || fit="$fit $A/$s"; done
    rm -rf "$WORK/kb_$h"
    cp -r kb "$WORK/kb_$h"
    # shellcheck disable=SC2086
    python3 tests/eval/fit_topicnet.py $FIT_ARGS --stale "$WORK/stale.txt" \
        --out "$WORK/kb_$h/topic-model.tsv" $fit 2> "$WORK/fit_$h.log"
    $E --kb "$WORK/kb_$h" "$A/$h" | tail -1 | sed "s|^answers: all:|$h|" > "$WORK/score_$h.txt"
}
n=0
for h in $LOSO; do
    one "$h" &
    n=$((n + 1))
    if [ "$n" -ge "$JOBS" ]; then wait; n=0; fi
done
wait
for h in $LOSO; do cat "$WORK/score_$h.txt"; done
