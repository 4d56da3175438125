#!/usr/bin/env python3
"""fit_nomatch.py - chooses the no-match thresholds (kb.h, struct kb_thresholds).

Input: the output of `answers_eval --dump FILE.tsv...` over the labelled sets
(tests/retrieval/*.tsv) and the lead's development set, in that order. Each
"dump" line holds a question's kind (0 passage ids, 1 topics, 2 nomatch),
whether its ranking is right with every threshold open, and the best
passage's features. For every point of a grid it prints hit@3 on the
passage-labelled questions, relevance on the topic-labelled development
questions, relevance on the 51 short everyday questions, and the honest
no-match rate, and lists the best points at several no-match levels.
Only development data may be given to it, never a blind set.

usage: answers_eval --dump tests/retrieval/*.tsv DEV.tsv > dump.txt
       python3 tests/eval/fit_nomatch.py dump.txt [SHORT=51]
"""
import itertools
import sys

F_SCORE, F_ABOUT, F_COVER, F_NCONCEPTS, F_UNKNOWN, F_UNIT = 0, 1, 2, 5, 12, 13

rows = [l.rstrip('\n').split('\t')[1:] for l in open(sys.argv[1]) if l.startswith('dump')]
short_n = int(sys.argv[2]) if len(sys.argv) > 2 else 51
R = [(int(r[0]), int(r[1]), [float(x) for x in r[2:]]) for r in rows]
lab = [r for r in R if r[0] == 0]
topic = [r for r in R if r[0] == 1]
short, dev = topic[:short_n], topic[short_n:]
nm = [r for r in R if r[0] == 2]


def rate(rs, rule, want_match=True):
    if not rs:
        return 0.0
    if want_match:
        return sum(1 for _, ok, f in rs if ok and rule(f)) / len(rs)
    return sum(1 for _, _, f in rs if not rule(f)) / len(rs)


def rule_for(us, a, sa, c, s, u, fm, fs):
    return lambda f: (f[F_UNIT] >= us or (f[F_ABOUT] >= a and f[F_SCORE] >= sa)
                      or (f[F_COVER] >= c and f[F_SCORE] >= s)
                      or (f[F_COVER] >= fm and f[F_SCORE] >= fs)) and f[F_UNKNOWN] <= u


points = []
for p in itertools.product([0.5, 0.6, 0.7, 0.8, 9], [0.4, 0.5, 0.6, 0.7, 0.8, 9], [0, 5, 10],
                           [0.3, 0.5, 0.7], [10, 15, 20, 99], [0.3, 0.5, 9], [0.8], [10, 99]):
    rule = rule_for(*p)
    points.append((rate(lab, rule), rate(dev, rule), rate(short, rule), rate(nm, rule, False), p))
ceiling = [rate(x, lambda f: True) for x in (lab, dev, short)]
print('questions: %d passage-labelled, %d dev topic, %d short, %d nomatch' %
      (len(lab), len(dev), len(short), len(nm)))
print('ranking ceiling (all matched): hit@3 %.3f dev relevance %.3f short %.3f' % tuple(ceiling))
for target in [0.9, 0.8, 0.7, 0.65, 0.6, 0.5]:
    ok = [p for p in points if p[3] >= target and p[2] >= ceiling[2] - 0.021]
    ok.sort(key=lambda p: p[1] + 0.5 * p[0], reverse=True)
    for p in ok[:2]:
        print('nomatch>=%.2f: hit@3 %.3f dev %.3f short %.3f nomatch %.3f  thresholds %s' %
              (target, p[0], p[1], p[2], p[3], ','.join(str(x) for x in p[4])))
