#!/bin/sh
# fit-nomatch.sh - refits the no-match weights (kb.c KB_MODEL_TN_WEIGHTS)
# the documented way (nomatch36/ret37, docs/knowledge-base.md): three topic
# readers are fitted by scripts/fit-topic-model.sh into copies of kb/
# (model A: passages + R1-R3 + D2; model B: passages + R4-R6; model N:
# passages + R1-R6 + D2; R7 and R8 in none), the dev sets are dumped out of
# fold without their stale nomatch lines (R4-R6 read by A, R1-R3 + D2 by B,
# tests/retrieval by N), and tests/eval/fit_nomatch.py --topic --cv runs
# over the eight dumps. It prints the leave-one-set-out table and the
# weights; it changes no tracked file (paste the weights into src/kb.c).
# The three readers stay in $WORK/kbA, kbB, kbN for scoring the result
# (R7/R8 with kbN are the honest held-out check).
#
# usage: sh scripts/fit-nomatch.sh                (WORK defaults to a new temp dir)
#        WORK=/tmp/nm PASSAGES=1 sh scripts/fit-nomatch.sh
# PASSAGES=1 passes stale_nomatch.py --passages (to the readers' fits and to
# the dumps' stale list). Sealed sets are never read (fit_topicnet.py
# refuses them; none is named here).
set -eu
A=tests/answers
R="blind-2026-12-01-r1.tsv blind-2026-12-01-r2.tsv blind-2026-12-02-r3.tsv dev-2026-12-01-d2.tsv"
S="blind-2026-12-02-r4.tsv blind-2026-12-02-r5.tsv blind-2026-12-02-r6.tsv"
H="blind-2026-12-02-r7.tsv blind-2026-12-02-r8.tsv"
PASSAGES=${PASSAGES:-0}
WORK=${WORK:-$(mktemp -d)}
E=build/release/tests/eval_answers_eval
mkdir -p "$WORK/sets" "$WORK/dump"
for k in A B N; do rm -rf "$WORK/kb$k"; cp -r kb "$WORK/kb$k"; done
export PASSAGES
HOLD_OUT="$S $H" OUT="$WORK/kbA/topic-model.tsv" sh scripts/fit-topic-model.sh
HOLD_OUT="$R $H" OUT="$WORK/kbB/topic-model.tsv" sh scripts/fit-topic-model.sh
HOLD_OUT="$H" OUT="$WORK/kbN/topic-model.tsv" sh scripts/fit-topic-model.sh
dev=""
for s in $R $S; do dev="$dev $A/$s"; done
# shellcheck disable=SC2086
if [ "$PASSAGES" = 1 ]; then python3 tests/eval/stale_nomatch.py --passages $dev > "$WORK/stale.txt"
else python3 tests/eval/stale_nomatch.py $dev > "$WORK/stale.txt"; fi
echo "fit-nomatch: $(wc -l < "$WORK/stale.txt") stale nomatch lines out of the dumps" >&2
# the dev sets without their stale nomatch lines
# shellcheck disable=SC2086
python3 - "$WORK/stale.txt" "$WORK/sets" $dev <<'EOF'
import os
import sys
stale = set(l.rstrip('\n') for l in open(sys.argv[1], encoding='utf-8'))
for path in sys.argv[3:]:
    out = []
    for l in open(path, encoding='utf-8'):
        p = l.rstrip('\n').split('\t')
        if len(p) >= 2 and p[0].strip() == 'nomatch' and p[-1] in stale:
            continue
        out.append(l)
    with open(os.path.join(sys.argv[2], os.path.basename(path)), 'w', encoding='utf-8') as f:
        f.writelines(out)
EOF
dumps=""
for s in $R; do
    $E --kb "$WORK/kbB" --dump "$WORK/sets/$s" | grep '^dump' > "$WORK/dump/$s.txt"
    dumps="$dumps $WORK/dump/$s.txt"
done
for s in $S; do
    $E --kb "$WORK/kbA" --dump "$WORK/sets/$s" | grep '^dump' > "$WORK/dump/$s.txt"
    dumps="$dumps $WORK/dump/$s.txt"
done
$E --kb "$WORK/kbN" --dump tests/retrieval/*.tsv | grep '^dump' > "$WORK/dump/retrieval.txt"
# shellcheck disable=SC2086
python3 tests/eval/fit_nomatch.py --topic --cv $dumps "$WORK/dump/retrieval.txt"
echo "fit-nomatch: readers and dumps in $WORK" >&2
