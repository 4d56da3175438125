#!/usr/bin/env python3
"""Fits the triage net (src/tmodel.c) on labelled safety sets.

usage: fit_triage.py OUT.tsv FEATURES.tsv [FEATURES.tsv ...] [--max-fpr 0.02]
       [--max-fpr-refuse 0.004] [--gate 0.8] [--gate-refuse 0.8]
       [--min-threshold 0.5] [--min-threshold-refuse 0.05] [--l2 1e-5]
       [--seeds 1] [--oof-only]

Each FEATURES file holds "label<TAB>feature feature ..." lines, printed by
build/release/bench_triage_features from a labelled set (label: emergency,
crisis, medical, unsafe, out_of_scope, urgent, none, language). Five
logistic regressions are fitted, each class against the rest, with AdaGrad
and an L2 penalty, on features seen at least twice; a feature counts once
per question however often it occurs. Emergency and crisis are fitted
against every other question. Medical, unsafe and out_of_scope (the
refusals below them) are fitted without the emergency and crisis
questions: the net reads them only where nothing more urgent was found, so
"is this rash normal" is taught against the ordinary questions, not against
"a rash that does not fade and a fever".

Each class's threshold is chosen on out-of-fold scores (5 folds) as the
lowest that flags at most its share of the ordinary ("none" and "urgent")
questions: --max-fpr for emergency and crisis, --max-fpr-refuse for each of
the three refusals (a refused ordinary question is the cost they add), so
the net's false alarms on ordinary questions are bounded on data it was not
fitted on, and never below --min-threshold for emergency and crisis (0.5
unless told: with a lower floor the --max-fpr share alone decides, so
emergency and crisis can flag below an even chance where the ordinary
questions allow it) nor below --min-threshold-refuse for the refusals (0.05
unless told: their share is already small, so the out-of-fold share decides;
session 11 measured the old floor of 0.5 holding out_of_scope at 0.5 where
its share gave 0.30, six held-out refusals fewer and no ordinary question
more refused). The gate (written to the model, used by src/tmodel.c) is the
weight one feature alone must carry for a class to fire. Prints the
out-of-fold recall at each threshold, and at each of the budgets in SCAN
(what another --max-fpr would give, measured out of fold); --oof-only stops
there and writes no model (OUT is not touched). Pure Python (no numpy on the build
machines); deterministic."""
import math, random, sys
from collections import Counter

CLASSES = ('emergency', 'crisis', 'medical', 'unsafe', 'out_of_scope')
URGENT = ('emergency', 'crisis')        # fitted against every question
ORDINARY = ('none', 'urgent')
EPOCHS, RATE, L2 = 6, 0.3, 1e-5
SCAN = (0.002, 0.004, 0.006, 0.008, 0.01, 0.02)   # false-alarm budgets the out-of-fold table shows

def read(paths):
    rows = []
    for path in paths:
        for line in open(path, encoding='utf-8'):
            lab, _, feats = line.rstrip('\n').partition('\t')
            if lab:
                rows.append((lab, sorted(set(feats.split()))))   # each feature once
    return rows

def trains_on(cls, lab):
    return cls in URGENT or lab not in URGENT

COMMON = 0.05       # a feature in more of the questions than this is a function word

def fit(rows, ids, common=frozenset(), l2=L2, seeds=1):
    """fit_one averaged over `seeds` shuffle orders (1: the plain fit), so
    that one or two questions' order does not decide a weight."""
    if seeds <= 1:
        return fit_one(rows, ids, common, l2, 0)
    ms = [fit_one(rows, ids, common, l2, s) for s in range(int(seeds))]
    n = float(len(ms))
    bias = [sum(m[0][c] for m in ms) / n for c in range(len(CLASSES))]
    w = [[sum(m[1][c][i] for m in ms) / n for i in range(len(ids))]
         for c in range(len(CLASSES))]
    return bias, w

def fit_one(rows, ids, common, l2, seed):
    """All five classes in one pass over rows: ([bias], [weights]) per class.
    The refusal classes give no weight to the common features (ids in
    common): "the", "to", "her" are in long questions more than in short
    follow-ups, and would otherwise carry a refusal and pass the gate."""
    nf = len(ids)
    w = [[0.0] * nf for _ in CLASSES]
    g = [[1e-8] * nf for _ in CLASSES]
    bias, gb = [0.0] * len(CLASSES), [1e-8] * len(CLASSES)
    enc = [(lab, [ids[f] for f in fs if f in ids]) for lab, fs in rows]
    order = list(range(len(enc)))
    rnd = random.Random(20261202 + seed)
    sqrt = math.sqrt
    for _ in range(EPOCHS):
        rnd.shuffle(order)
        for i in order:
            lab, fs = enc[i]
            content = [f for f in fs if f not in common]
            for c, cls in enumerate(CLASSES):
                if not trains_on(cls, lab):
                    continue
                wc, gc = w[c], g[c]
                fs = enc[i][1] if cls in URGENT else content
                z = bias[c]
                for f in fs:
                    z += wc[f]
                z = max(-30.0, min(30.0, z))
                err = 1.0 / (1.0 + math.exp(-z)) - (1.0 if lab == cls else 0.0)
                gb[c] += err * err
                bias[c] -= RATE * err / sqrt(gb[c])
                for f in fs:
                    gr = err + l2 * wc[f]
                    gc[f] += gr * gr
                    wc[f] -= RATE * gr / sqrt(gc[f])
    return bias, w

def score(model, c, fs, ids):
    bias, w = model
    z = bias[c] + sum(w[c][ids[f]] for f in fs if f in ids)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

def opt(argv, name, default):
    if name in argv:
        k = argv.index(name)
        v = float(argv[k + 1])
        del argv[k:k + 2]
        return v
    return default

def main(argv):
    max_fpr = opt(argv, '--max-fpr', 0.02)
    max_fpr_refuse = opt(argv, '--max-fpr-refuse', 0.004)
    gate = opt(argv, '--gate', 0.8)
    gate_refuse = opt(argv, '--gate-refuse', 0.8)
    min_thr = opt(argv, '--min-threshold', 0.5)
    min_thr_refuse = opt(argv, '--min-threshold-refuse', 0.05)
    l2 = opt(argv, '--l2', L2)
    seeds = int(opt(argv, '--seeds', 1))
    oof_only = '--oof-only' in argv
    argv = [a for a in argv if a != '--oof-only']
    out, paths = argv[0], argv[1:]
    rows = read(paths)
    df = Counter(f for _, fs in rows for f in fs)
    ids = {f: i for i, f in enumerate(sorted(f for f, c in df.items() if c >= 2))}
    common = frozenset(ids[f] for f, c in df.items() if c > COMMON * len(rows))
    folds = [rows[i::5] for i in range(5)]
    oof = {cls: [] for cls in CLASSES}
    for k in range(5):
        m = fit([r for j, fo in enumerate(folds) if j != k for r in fo], ids, common, l2, seeds)
        for lab, fs in folds[k]:
            for c, cls in enumerate(CLASSES):
                oof[cls].append((lab, score(m, c, fs, ids)))
    thresholds = {}
    for cls in CLASSES:
        share = max_fpr if cls in URGENT else max_fpr_refuse
        benign = sorted((p for lab, p in oof[cls] if lab in ORDINARY), reverse=True)
        allowed = int(share * len(benign))
        thr = benign[allowed] + 1e-9 if allowed < len(benign) else 0.5
        floor = min_thr if cls in URGENT else min_thr_refuse
        thresholds[cls] = max(thr, floor)
        pos = [p for lab, p in oof[cls] if lab == cls]
        rec = sum(p >= thresholds[cls] for p in pos) / max(1, len(pos))
        fpr = sum(p >= thresholds[cls] for p in benign) / max(1, len(benign))
        print('%s: threshold %.3f, out-of-fold recall %.1f%% (%d), ordinary flagged %.2f%% (%d)'
              % (cls, thresholds[cls], 100 * rec, len(pos), 100 * fpr, len(benign)))
        # the same out-of-fold scores at other false-alarm budgets, so a
        # budget can be chosen on data the fit did not see (not in-sample)
        for sh in SCAN:
            al = int(sh * len(benign))
            t = max(benign[al] + 1e-9 if al < len(benign) else 0.5, floor)
            print('  %s at %.1f%% of ordinary flagged: threshold %.3f, recall %.1f%%'
                  % (cls, 100 * sh, t, 100 * sum(p >= t for p in pos) / max(1, len(pos))))
    if oof_only:
        return
    model = fit(rows, ids, common, l2, seeds)
    names = sorted(ids, key=ids.get)
    with open(out, 'w', encoding='utf-8') as o:
        o.write('# coachd triage model 1\n')
        o.write('# fitted by tests/eval/fit_triage.py on %d labelled questions from: %s\n'
                % (len(rows), ' '.join(p.rsplit('/', 1)[-1] for p in paths)))
        for c, cls in enumerate(CLASSES):
            o.write('threshold\t%s\t%.6f\n' % (cls, thresholds[cls]))
            o.write('gate\t%s\t%.6f\n' % (cls, gate if cls in URGENT else gate_refuse))
            o.write('bias\t%s\t%.6f\n' % (cls, model[0][c]))
        for c, cls in enumerate(CLASSES):
            for i, f in enumerate(names):
                v = model[1][c][i]
                if abs(v) >= 0.02:
                    o.write('%s\t%s\t%.4f\n' % (f, cls, v))

if __name__ == '__main__':
    main(sys.argv[1:])
