#!/usr/bin/env python3
"""fit_topicnet.py - fits the topic reader (src/topicnet.c, kb/topic-model.tsv).

A multinomial logistic regression (softmax) over every topic id of the
knowledge base plus a "nomatch" class, on the features topicnet.c scores
with: topicnet_features (tmodel_features' words "u:", five-letter stems
"p:" and neighbouring word pairs "b:", less function words) plus the words
the --kb knowledge base's query normalisation adds (synonyms, spelling
fixes, UK/US spellings: kb_topic_features), printed by
build/release/bench_topic_features --kb KB so fitting and scoring cannot
drift apart (--features BIN names another binary). Each distinct feature the model knows
counts 1/sqrt(number of them), so a long story does not shout down a short
question.

Training examples:
  - every passage's title, each of its `asks:` and its keywords (joined),
    labelled with the passage's primary topic;
  - the labelled parent questions of the answer sets named on the command
    line (LABEL<TAB>QUESTION; LABEL is topic ids joined by ',' - the target
    is spread evenly over them - or "nomatch"), weighted --set-weight.
Never pass a sealed or held-out set (tests/sealed.list; R7 and R8 are held
out for the session 10 figures).

Fitting: plain stochastic gradient descent (stdlib only, a fixed seed, so
the same inputs give the same file), a small L2 penalty on the weights each
example touches, features seen in fewer than --min-count examples dropped,
weights under --prune left out of the file.

A "nomatch" line that a topic added since its set was written may cover is
left out with --stale LIST (the questions, one a line: stale_nomatch.py).

usage: python3 tests/eval/fit_topicnet.py [--kb kb] [--features BIN] [--out kb/topic-model.tsv]
           [--epochs 8] [--set-weight 2] [--prune 0.15] [--stale LIST]
           [--eval HELDOUT.tsv...] SET.tsv...
With --eval it prints top-1 / top-3 topic accuracy and the nomatch class's
share on the named sets (cross-validation: fit on one half, eval the other).
"""
import math
import os
import random
import subprocess
import sys

FEATURES_BIN = 'build/release/bench_topic_features'
KBDIR = 'kb'   # the knowledge base whose synonyms and spellings the features read


def passages(kbdir):
    """(primary topic, [texts]) for each passage under kbdir."""
    out = []
    for root, _, files in sorted(os.walk(kbdir)):
        for f in sorted(files):
            if not f.endswith('.md'):
                continue
            lines = open(os.path.join(root, f), encoding='utf-8').read().split('\n')
            if not lines or lines[0].strip() != '---':
                continue
            title, topics, keywords, asks, in_asks = '', [], '', [], False
            for l in lines[1:]:
                if l.strip() == '---':
                    break
                if in_asks and l[:1] in (' ', '\t') and l.strip().startswith('-'):
                    asks.append(l.strip()[1:].strip())
                    continue
                in_asks = False
                k, _, v = l.partition(':')
                k, v = k.strip(), v.strip()
                if k == 'title':
                    title = v
                elif k == 'topics':
                    topics = [t.strip() for t in v.strip('[]').split(',') if t.strip()]
                elif k == 'keywords':
                    keywords = ', '.join(t.strip() for t in v.strip('[]').split(',') if t.strip())
                elif k == 'asks':
                    in_asks = True
            if topics:
                out.append((topics[0], [t for t in [title, keywords] + asks if t]))
    return out


def topic_ids(kbdir):
    ids = []
    for f in sorted(os.listdir(kbdir)):
        if f.startswith('topics') and f.endswith('.tsv'):
            for l in open(os.path.join(kbdir, f), encoding='utf-8'):
                if l.strip() and not l.startswith('#'):
                    ids.append(l.split('\t')[0].strip())
    return ids


def labelled(path):
    rows = []
    for l in open(path, encoding='utf-8'):
        l = l.rstrip('\n')
        if not l or l.startswith('#') or '\t' not in l:
            continue
        lab, q = l.split('\t', 1)
        rows.append(([x.strip() for x in lab.split(',') if x.strip()], q))
    return rows


def featurise(texts):
    """tmodel_features of each text, through the C binary (one process)."""
    inp = ''.join('x\t%s\n' % t.replace('\t', ' ').replace('\n', ' ') for t in texts)
    res = subprocess.run([FEATURES_BIN, '--kb', KBDIR], input=inp.encode(), stdout=subprocess.PIPE,
                         check=True)
    out = []
    for l in res.stdout.decode().split('\n')[:len(texts)]:
        out.append(l.split('\t', 1)[1].split() if '\t' in l else [])
    return out


def fit(examples, classes, epochs, l2, lr0, min_count, seed=1):
    k = len(classes)
    count = {}
    for fs, _, _ in examples:
        for f in set(fs):
            count[f] = count.get(f, 0) + 1
    keep = {f for f, c in count.items() if c >= min_count}
    data = []
    for fs, y, wt in examples:
        fs = sorted(set(f for f in fs if f in keep))   # once each, as topicnet.c counts
        if fs:
            data.append((fs, 1 / math.sqrt(len(fs)), y, wt))
    W = {f: [0.0] * k for f in keep}
    b = [0.0] * k
    rng = random.Random(seed)
    order = list(range(len(data)))
    for ep in range(epochs):
        rng.shuffle(order)
        lr = lr0 / (1 + 0.5 * ep)
        decay = 1 - lr * l2
        for i in order:
            fs, x, y, wt = data[i]
            z = b[:]
            for f in fs:
                wf = W[f]
                z = [a + x * c for a, c in zip(z, wf)]
            m = max(z)
            e = [math.exp(v - m) for v in z]
            s = sum(e)
            g = [v / s for v in e]
            for c, t in y.items():
                g[c] -= t
            g = [lr * wt * v for v in g]
            b = [a - v for a, v in zip(b, g)]
            gx = [x * v for v in g]
            for f in fs:
                W[f] = [decay * a - v for a, v in zip(W[f], gx)]
    return W, b


def score(W, b, fs):
    fs = set(f for f in fs if f in W)
    z = b[:]
    if fs:
        x = 1 / math.sqrt(len(fs))
        for f in fs:
            z = [a + x * c for a, c in zip(z, W[f])]
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


def load_model(path):
    """(W, b, classes) of a topic-model.tsv."""
    W, b, classes, idx = {}, [], [], {}
    for l in open(path, encoding='utf-8'):
        if l.startswith('#') or not l.strip():
            continue
        f, c, w = l.rstrip('\n').split('\t')
        if f == 'bias':
            idx[c] = len(classes)
            classes.append(c)
            b.append(float(w))
        else:
            W.setdefault(f, [0.0] * len(classes))[idx[c]] = float(w)
    return W, b, classes


def evaluate(W, b, classes, rows, feats):
    idx = {c: i for i, c in enumerate(classes)}
    top1 = top3 = n = nm_n = nm_top = cov_nm = 0
    for (lab, _), fs in zip(rows, feats):
        p = score(W, b, fs)
        rank = sorted(range(len(p)), key=lambda i: -p[i])
        if lab == ['nomatch']:
            nm_n += 1
            nm_top += classes[rank[0]] == 'nomatch'
            continue
        want = {idx[t] for t in lab if t in idx}
        n += 1
        top1 += rank[0] in want
        top3 += bool(want & set(rank[:3]))
        cov_nm += classes[rank[0]] == 'nomatch'
    print('eval: covered %d top1 %.3f top3 %.3f (top is nomatch %.3f); nomatch %d top is nomatch %.3f'
          % (n, top1 / max(n, 1), top3 / max(n, 1), cov_nm / max(n, 1), nm_n, nm_top / max(nm_n, 1)))


def main(argv):
    global FEATURES_BIN, KBDIR
    kbdir, out, epochs, setw, l2, lr0, min_count, prune = 'kb', None, 8, 2.0, 1e-4, 1.0, 2, 0.15
    stale = set()
    sets, evals = [], []
    i = 0
    mode = 'sets'
    while i < len(argv):
        a = argv[i]
        if a in ('--kb', '--features', '--out', '--epochs', '--set-weight', '--l2', '--lr', '--min-count', '--prune',
                 '--stale'):
            v = argv[i + 1]
            i += 2
            if a == '--kb': kbdir = v
            elif a == '--features': FEATURES_BIN = v
            elif a == '--out': out = v
            elif a == '--epochs': epochs = int(v)
            elif a == '--set-weight': setw = float(v)
            elif a == '--l2': l2 = float(v)
            elif a == '--lr': lr0 = float(v)
            elif a == '--min-count': min_count = int(v)
            elif a == '--prune': prune = float(v)
            elif a == '--stale': stale = {l.rstrip('\n') for l in open(v, encoding='utf-8')}
            continue
        if a == '--eval':
            mode = 'eval'
        elif mode == 'eval':
            evals.append(a)
        else:
            sets.append(a)
        i += 1
    sealed = set()
    if os.path.exists('tests/sealed.list'):
        sealed = {l.strip() for l in open('tests/sealed.list') if l.strip() and not l.startswith('#')}
    for path in sets:
        if os.path.basename(path) in sealed:
            sys.exit('fit_topicnet: %s is sealed (tests/sealed.list): never fit on it' % path)
    KBDIR = kbdir
    classes = topic_ids(kbdir) + ['nomatch']
    idx = {c: i for i, c in enumerate(classes)}
    texts, ys, wts = [], [], []
    for prim, ts in passages(kbdir):
        for t in ts:
            texts.append(t)
            ys.append({idx[prim]: 1.0})
            wts.append(1.0)
    skipped = 0
    for path in sets:
        for lab, q in labelled(path):
            known = [t for t in lab if t in idx]
            if not known or (known == ['nomatch'] and q in stale):
                skipped += 1
                continue
            texts.append(q)
            ys.append({idx[t]: 1.0 / len(known) for t in known})
            wts.append(setw)
    feats = featurise(texts)
    W, b = fit(list(zip(feats, ys, wts)), classes, epochs, l2, lr0, min_count)
    nw = sum(1 for f in W for w in W[f] if abs(w) >= prune)
    print('fit: %d examples (%d skipped), %d classes, %d features, %d weights over %.2f'
          % (len(texts), skipped, len(classes), len(W), nw, prune), file=sys.stderr)
    Wp = {f: [w if abs(w) >= prune else 0.0 for w in ws] for f, ws in W.items()}
    Wp = {f: ws for f, ws in Wp.items() if any(ws)}
    for path in evals:
        rows = labelled(path)
        print(path, end=' ')
        evaluate(Wp, b, classes, rows, featurise([q for _, q in rows]))
    if out:
        with open(out, 'w', encoding='utf-8') as fo:
            fo.write('# coachd topic model 1\n')
            fo.write('# Fitted by tests/eval/fit_topicnet.py (softmax over %d classes) on the\n'
                     '# passages\' titles, keywords and asks%s%s.\n'
                     % (len(classes), ' and ' if sets else '',
                        ', '.join(os.path.basename(s) for s in sets)))
            fo.write('# epochs %d, set weight %g, l2 %g, lr %g, min count %d, prune %g\n'
                     % (epochs, setw, l2, lr0, min_count, prune))
            for c, w in zip(classes, b):
                fo.write('bias\t%s\t%.4f\n' % (c, w))
            for f in sorted(Wp):
                for c, w in zip(classes, Wp[f]):
                    if w:
                        fo.write('%s\t%s\t%.4f\n' % (f, c, w))


if __name__ == '__main__':
    main(sys.argv[1:])
