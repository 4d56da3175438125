#!/usr/bin/env python3
"""stale_nomatch.py - lists "nomatch" lines of development sets that a newer
topic may cover, so fit_topicnet.py does not teach the topic reader that
they are outside the knowledge base.

An answer set's "nomatch" label was true for the topics of the day it was
written; topics were added since (birthday parties, activities, big
questions, home education ...), and such a question is covered now. A
"nomatch" line is stale here when the lexical engine alone (the knowledge
base without its topic model) answers it from a passage whose primary topic
first appeared in kb/topics*.tsv on or after the set's date (the date in its
file name; git log gives each topic's first day), or, with --passages, from
a passage file first added on or after that date (a passage added to an
older topic: kb37's visitors passage, session 11; off by default so that
the shipped model's stale list, and so the model, are reproduced), or, with --model, when a
topic reader fitted on the passages alone (their titles, keywords and asks:
fit_topicnet.py with no sets) gives such a newer topic P >= 0.3. The
labels themselves are left as written: this only keeps such lines out of
the topic reader's fit.

usage: python3 tests/eval/stale_nomatch.py [--passages] [--model ASKS-MODEL.tsv] SET.tsv... > stale.txt
(prints the stale questions, one a line; the kb is ./kb)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fit_topicnet as ft  # noqa: E402

EVAL = 'build/release/tests/eval_answers_eval'


def topic_days():
    days = {}
    for t in ft.topic_ids('kb'):
        out = subprocess.run(['git', 'log', '--reverse', '--format=%ad', '--date=short',
                              '-S%s\t' % t, '--', 'kb/topics*.tsv'],
                             stdout=subprocess.PIPE, check=True).stdout.decode().split()
        days[t] = out[0] if out else '9999-99-99'
    return days


def passage_days():
    """{kb/.../x.md: first day the file was added} from one git log."""
    out = subprocess.run(['git', 'log', '--reverse', '--diff-filter=A', '--no-renames',
                          '--name-only', '--format=D %ad', '--date=short', '--', 'kb'],
                         stdout=subprocess.PIPE, check=True).stdout.decode().split('\n')
    days, day = {}, None
    for l in out:
        if l.startswith('D '):
            day = l[2:].strip()
        elif l.endswith('.md') and day and l not in days:
            days[l] = day
    return days


def main(sets):
    model = None
    by_passage = False
    if sets[:1] == ['--passages']:
        by_passage = True
        sets = sets[1:]
    if sets[:1] == ['--model']:
        model = ft.load_model(sets[1])
        sets = sets[2:]
    days = topic_days()
    pdays = passage_days() if by_passage else {}
    prim, pday = {}, {}
    for root, _, files in os.walk('kb'):
        for f in files:
            if not f.endswith('.md'):
                continue
            title, topics = None, []
            for l in open(os.path.join(root, f), encoding='utf-8').read().split('\n')[1:40]:
                if l.startswith('title:'):
                    title = l[6:].strip()
                elif l.startswith('topics:'):
                    topics = [x.strip() for x in l[7:].strip().strip('[]').split(',') if x.strip()]
                elif l.strip() == '---':
                    break
            if title and topics:
                prim[title] = topics[0]
                pday[title] = pdays.get(os.path.relpath(os.path.join(root, f)), '')
    tmp = tempfile.mkdtemp(prefix='stale-kb-')
    try:
        kb0 = os.path.join(tmp, 'kb')
        shutil.copytree('kb', kb0, ignore=shutil.ignore_patterns('topic-model.tsv'))
        for path in sets:
            m = re.search(r'20\d\d-\d\d-\d\d', os.path.basename(path))
            day = m.group(0) if m else '0000-00-00'
            nomatch = {q for lab, q in ft.labelled(path) if lab == ['nomatch']}
            found = set()
            if model:
                W, b, classes = model
                qs = sorted(nomatch)
                for q, fs in zip(qs, ft.featurise(qs)):
                    p = ft.score(W, b, fs)
                    if any(p[i] >= 0.3 and days.get(c, '') >= day for i, c in enumerate(classes)
                           if c != 'nomatch'):
                        found.add(q)
            out = subprocess.run([EVAL, '--kb', kb0, '--cited', path], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL).stdout.decode()
            for l in out.split('\n'):
                parts = l.split('\t')
                if len(parts) != 3 or parts[0] != 'cited' or parts[1] not in nomatch:
                    continue
                title = parts[2].split(': ', 1)[-1]
                t = prim.get(title)
                if t and (days.get(t, '') >= day or (by_passage and pday.get(title, '') >= day)):
                    found.add(parts[1])
            for q in sorted(found):
                print(q)
    finally:
        shutil.rmtree(tmp)


if __name__ == '__main__':
    main(sys.argv[1:])
