#!/usr/bin/env python3
"""Fits the triage net (src/tmodel.c) on labelled safety sets.

usage: fit_triage.py OUT.tsv FEATURES.tsv [FEATURES.tsv ...] [--max-fpr 0.02] [--gate 1.0]

Each FEATURES file holds "label<TAB>feature feature ..." lines, printed by
build/release/bench_triage_features from a labelled set (label: emergency,
crisis, medical, unsafe, out_of_scope, urgent, none, language). Two
logistic regressions are fitted, emergency against the rest and crisis
against the rest, with AdaGrad and an L2 penalty, on features seen at least
twice; a feature counts once per question however often it occurs. Each
class's threshold is chosen on out-of-fold scores (5 folds) as
the lowest that flags at most --max-fpr of the ordinary ("none" and
"urgent") questions, so the net's false alarms on ordinary questions are
bounded on data it was not fitted on. The gate (written to the model, used by
src/tmodel.c) is the weight one feature alone must carry for a class to fire.
Prints the out-of-fold recall at that
threshold. Pure Python (no numpy on the build machines); deterministic."""
import math, random, sys
from collections import Counter

CLASSES = ('emergency', 'crisis')
EPOCHS, RATE, L2 = 6, 0.3, 1e-5

def read(paths):
    rows = []
    for path in paths:
        for line in open(path, encoding='utf-8'):
            lab, _, feats = line.rstrip('\n').partition('\t')
            if lab:
                rows.append((lab, sorted(set(feats.split()))))   # each feature once
    return rows

def fit(rows, vocab, cls):
    w, g = {}, {}
    bias, gb = 0.0, 1e-8
    order = list(range(len(rows)))
    rnd = random.Random(20261202)
    for _ in range(EPOCHS):
        rnd.shuffle(order)
        for i in order:
            lab, fs = rows[i]
            fs = [f for f in fs if f in vocab]
            z = bias + sum(w.get(f, 0.0) for f in fs)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            err = p - (1.0 if lab == cls else 0.0)
            gb += err * err
            bias -= RATE * err / math.sqrt(gb)
            for f in fs:
                gr = err + L2 * w.get(f, 0.0)
                g[f] = g.get(f, 1e-8) + gr * gr
                w[f] = w.get(f, 0.0) - RATE * gr / math.sqrt(g[f])
    return bias, w

def score(model, fs):
    bias, w = model
    z = bias + sum(w.get(f, 0.0) for f in fs)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

def main(argv):
    max_fpr, gate = 0.02, 1.0
    if '--gate' in argv:
        k = argv.index('--gate'); gate = float(argv[k + 1]); del argv[k:k + 2]
    if '--max-fpr' in argv:
        k = argv.index('--max-fpr'); max_fpr = float(argv[k + 1]); del argv[k:k + 2]
    out, paths = argv[0], argv[1:]
    rows = read(paths)
    df = Counter(f for _, fs in rows for f in set(fs))
    vocab = {f for f, c in df.items() if c >= 2}
    folds = [rows[i::5] for i in range(5)]
    thresholds = {}
    for cls in CLASSES:
        oof = []
        for k in range(5):
            train = [r for j, fo in enumerate(folds) if j != k for r in fo]
            m = fit(train, vocab, cls)
            oof += [(lab, score(m, fs)) for lab, fs in folds[k]]
        benign = sorted((p for lab, p in oof if lab in ('none', 'urgent')), reverse=True)
        allowed = int(max_fpr * len(benign))
        thr = benign[allowed] + 1e-9 if allowed < len(benign) else 0.5
        thresholds[cls] = max(thr, 0.5)
        pos = [p for lab, p in oof if lab == cls]
        rec = sum(p >= thresholds[cls] for p in pos) / max(1, len(pos))
        fpr = sum(p >= thresholds[cls] for p in benign) / max(1, len(benign))
        print('%s: threshold %.3f, out-of-fold recall %.1f%% (%d), ordinary flagged %.2f%% (%d)'
              % (cls, thresholds[cls], 100 * rec, len(pos), 100 * fpr, len(benign)))
    with open(out, 'w', encoding='utf-8') as o:
        o.write('# coachd triage model 1\n')
        o.write('# fitted by tests/eval/fit_triage.py on %d labelled questions from %d sets\n' % (len(rows), len(paths)))
        models = {cls: fit(rows, vocab, cls) for cls in CLASSES}
        for cls in CLASSES:
            o.write('threshold\t%s\t%.6f\n' % (cls, thresholds[cls]))
            o.write('gate\t%s\t%.6f\n' % (cls, gate))
            o.write('bias\t%s\t%.6f\n' % (cls, models[cls][0]))
        for cls in CLASSES:
            for f, v in sorted(models[cls][1].items()):
                if abs(v) >= 0.02:
                    o.write('%s\t%s\t%.4f\n' % (f, cls, v))

if __name__ == '__main__':
    main(sys.argv[1:])
