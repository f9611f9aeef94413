"""Label-free choice of the SimCLR temperature on digits with one label per class.

For each tuning seed and temperature, round 1 of the few-labels recipe (`configs/digits_fewlabels.yaml`) trains
without labels. Its embedding is then judged two ways:
- the **rule** (label-free beyond the ten known labels): the share of unlabelled training samples on which two
  different votes from the ten labels agree, logistic regression (a linear read-out) and constrained k-means
  (one centroid per known label). An embedding in which one prototype per class works makes them agree.
- the **truth** (never used by the rule): test accuracy of logistic regression from the ten labels.
The rule picks the temperature with the highest agreement; the table shows how far that is from the best.
For each embedding it also records the precision of the kept pseudo-labels against the probability threshold,
logistic regression alone and where label spreading agrees (the pipeline's pseudo-labeller), from the true labels
that no step of the pipeline uses.

With `--draws N` it judges the candidate rules once per draw of the ten labels (the known draw and N others), against
the pipeline's read-out (`kmeans_logreg`: constrained k-means labels the training embedding, a logistic regression
fitted on it labels the test images): per seed, the accuracy of the temperature each rule picks from that draw's
labels, averaged over the draws, against the best temperature's mean. The candidates, fixed before they were scored:
- R1: logistic regression and constrained k-means agree (the rule above);
- R3: adjusted Rand index between seeded and unseeded k-means (k = classes, 10 starts);
- R5: mean confidence of the read-out on the unlabelled training images;
- R6: stability: agreement of the read-out's training labels when each known label moves to one of its 5 nearest
  unlabelled images (4 times);
- R7: the read-out and logistic regression agree.

    python bench/select_temperature.py --seeds 0 1 2 --taus 0.25 0.5 1.0 [--jobs 2] [--draws 9]
"""
import argparse, json, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np, yaml

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # of the pseudo-labeller's probability

def fit(seed:int, tau:float, a) -> Path:
    "Round 1 at this seed and temperature (skipped when its embeddings exist)."
    run = Path(a.out)/f'seed{seed}_tau{tau}'
    if (run/'embeddings'/'test.npz').exists(): return run
    if run.exists():
        raise FileExistsError(f'{run} holds an unfinished run: remove it (the bench made it) and run again')
    args = [sys.executable, '-m', 'sscl', 'fit', '--config', str(ROOT/'configs'/'digits_fewlabels.yaml'),
            '--seed_everything', str(seed), '--data.init_args.seed', str(seed), '--model.temperature', str(tau),
            '--trainer.default_root_dir', str(run), '--trainer.enable_progress_bar', 'false']
    if a.epochs: args += ['--trainer.max_epochs', str(a.epochs)]
    t0 = time.time()
    r = subprocess.run(args, capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    if r.returncode: raise RuntimeError(f'seed {seed} tau {tau} failed:\n{r.stderr[-3000:]}')
    print(f'seed {seed} tau {tau}: {time.time() - t0:.0f} s', flush=True)
    return run

def judge(seed:int, run:Path) -> dict:
    "The rule's agreement and the true test accuracy of one round-1 embedding."
    from sscl.pipeline import aligned, build_datamodule
    from sscl.semisup import label_test, pseudo_label
    cfg = yaml.safe_load((ROOT/'configs'/'digits_fewlabels.yaml').read_text())
    cfg['data']['init_args'].update(seed=seed, labels_per_class=1)
    dm = build_datamodule(cfg)
    known = dm.known_labels.numpy()
    tr = aligned(run/'embeddings'/'train.npz', dm.splits['train'].numpy())
    te = aligned(run/'embeddings'/'test.npz', dm.splits['test'].numpy())
    u = known < 0
    lr = pseudo_label(tr['h'], known, 'logreg')['label']
    km = pseudo_label(tr['h'], known, 'kmeans')['label']
    acc = float((label_test(tr['h'], known, te['h'], 'logreg') == te['y']).mean())
    prec = {}  # threshold -> precision of the kept pseudo-labels alone / where spreading agrees, share kept agreeing
    for t in THRESHOLDS:
        alone = pseudo_label(tr['h'], known, 'logreg', threshold=t)
        both = pseudo_label(tr['h'], known, 'logreg', threshold=t, agree='spreading', k=20)
        right = lambda r: float((r['label'][r['keep']] == tr['y'][r['keep']]).mean()) if r['keep'].any() else None
        prec[str(t)] = {'alone': right(alone), 'agreeing': right(both), 'kept': float(both['keep'][u].mean())}
    return {'agreement': float((lr[u] == km[u]).mean()), 'accuracy': acc, 'pseudo_labels': prec}

RULES = ('R1 logreg=kmeans', 'R3 ARI seeded/free k-means', 'R5 read-out confidence', 'R6 label-jitter stability',
         'R7 read-out=logreg')

def _jitter_stability(h, known, base, rng, n=4, near=5) -> float:
    "Agreement of the read-out's training labels when each known label moves to one of its `near` nearest neighbours."
    from sscl.semisup import pseudo_label
    hn = h / np.linalg.norm(h, axis=1, keepdims=True)
    out = []
    for _ in range(n):
        moved = np.full_like(known, -1)
        for i in np.flatnonzero(known >= 0):
            sim = hn @ hn[i]
            sim[known >= 0] = -np.inf
            moved[rng.choice(np.argsort(-sim)[:near])] = known[i]
        out.append((pseudo_label(h, moved, 'kmeans_logreg')['label'] == base).mean())
    return float(np.mean(out))

def judge_draws(seed:int, runs:dict, n_draws:int) -> list:
    "Per label draw: each temperature's read-out accuracy and each rule's value (labels of that draw only)."
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sscl.pipeline import aligned, build_datamodule, label_draws
    from sscl.semisup import VOTES, label_test, pseudo_label
    cfg = yaml.safe_load((ROOT/'configs'/'digits_fewlabels.yaml').read_text())
    cfg['data']['init_args'].update(seed=seed, labels_per_class=1)
    dm = build_datamodule(cfg)
    emb = {}
    for t, run in runs.items():
        tr = aligned(run/'embeddings'/'train.npz', dm.splits['train'].numpy())
        te = aligned(run/'embeddings'/'test.npz', dm.splits['test'].numpy())
        hn = tr['h'] / np.linalg.norm(tr['h'], axis=1, keepdims=True)
        emb[t] = (tr['h'], te, KMeans(int(tr['y'].max()) + 1, n_init=10, random_state=0).fit(hn).labels_)
    rows = []
    for d, kd in enumerate([dm.known_labels.numpy()] + label_draws(dm, n_draws)):
        row, u = {}, kd < 0
        for t, (h, te, free) in emb.items():
            lab = {m: pseudo_label(h, kd, m)['label'] for m in ('logreg', 'kmeans', 'kmeans_logreg')}
            vals = ((lab['logreg'][u] == lab['kmeans'][u]).mean(), adjusted_rand_score(lab['kmeans'], free),
                    VOTES['kmeans_logreg'](h, kd, 10, 10).max(1)[u].mean(),
                    _jitter_stability(h, kd, lab['kmeans_logreg'], np.random.default_rng(d)),
                    (lab['logreg'][u] == lab['kmeans_logreg'][u]).mean())
            row[str(t)] = {'accuracy': float((label_test(h, kd, te['h'], 'kmeans_logreg') == te['y']).mean()),
                           'accuracy_logreg': float((label_test(h, kd, te['h'], 'logreg') == te['y']).mean()),
                           **{r: float(v) for r, v in zip(RULES, vals)}}
        rows.append(row)
    return rows

def print_draws(res:dict, taus):
    "Per rule and seed: mean accuracy of the picked temperatures against the best temperature's mean."
    print('| rule | ' + ' | '.join(f'seed {s}: picked / best (loss)' for s in res) + ' | picks |')
    print('|---' * (len(res) + 2) + '|')
    for r in RULES:
        cells, picks = [], []
        for rows in res.values():
            mean = {t: np.mean([x[str(t)]['accuracy'] for x in rows]) for t in taus}
            chosen = [max(taus, key=lambda t: x[str(t)][r]) for x in rows]
            got = np.mean([x[str(t)]['accuracy'] for x, t in zip(rows, chosen)])
            best = max(mean.values())
            cells.append(f'{got:.3f} / {best:.3f} ({best - got:+.3f})')
            picks += chosen
        print(f'| {r} | ' + ' | '.join(cells) + ' | ' + ', '.join(f'{t}: {picks.count(t)}' for t in taus) + ' |')
    mean = {t: np.mean([x[str(t)]['accuracy'] for rows in res.values() for x in rows]) for t in taus}
    print('read-out accuracy over seeds and draws: ' + ', '.join(f'tau {t}: {v:.3f}' for t, v in mean.items()))
    lr = {t: np.mean([x[str(t)]['accuracy_logreg'] for rows in res.values() for x in rows]) for t in taus}
    print('logistic regression from the labels alone: ' + ', '.join(f'tau {t}: {v:.3f}' for t, v in lr.items()))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--taus', type=float, nargs='+', default=[0.25, 0.5, 1.0])
    ap.add_argument('--epochs', type=int, default=None, help="round 1 epochs (default: the config's)")
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--out', default='runs/bench_select_temperature')
    ap.add_argument('--save', default=str(ROOT/'bench'/'results'/'temperature.json'))
    ap.add_argument('--draws', type=int, default=0, help='judge the rules on this many other label draws as well')
    ap.add_argument('--save-draws', default=str(ROOT/'bench'/'results'/'temperature_draws.json'))
    a = ap.parse_args()
    cases = [(s, t) for s in a.seeds for t in a.taus]
    with ThreadPoolExecutor(a.jobs) as ex: runs = list(ex.map(lambda c: fit(*c, a), cases))
    if a.draws:
        res = {s: judge_draws(s, {t: r for (s_, t), r in zip(cases, runs) if s_ == s}, a.draws) for s in a.seeds}
        print_draws(res, a.taus)
        Path(a.save_draws).write_text(json.dumps({'seeds': a.seeds, 'taus': a.taus, 'draws': res}, indent=1))
    res = {f'{s} {t}': judge(s, r) for (s, t), r in zip(cases, runs)}
    print('| seed | ' + ' | '.join(f'tau {t}: accuracy / agreement' for t in a.taus) + ' | rule picks | best | loss |')
    print('|---' * (len(a.taus) + 4) + '|')
    for s in a.seeds:
        row = [res[f'{s} {t}'] for t in a.taus]
        pick, best = max(range(len(row)), key=lambda i: row[i]['agreement']), max(range(len(row)), key=lambda i: row[i]['accuracy'])
        print(f'| {s} | ' + ' | '.join(f'{r["accuracy"]:.3f} / {r["agreement"]:.3f}' for r in row) +
              f' | {a.taus[pick]} | {a.taus[best]} | {row[best]["accuracy"] - row[pick]["accuracy"]:.3f} |')
    mean = {t: np.mean([res[f'{s} {t}']['accuracy'] for s in a.seeds]) for t in a.taus}
    agree = {t: np.mean([res[f'{s} {t}']['agreement'] for s in a.seeds]) for t in a.taus}
    print('mean accuracy ' + ', '.join(f'tau {t}: {v:.3f}' for t, v in mean.items()))
    print('mean agreement ' + ', '.join(f'tau {t}: {v:.3f}' for t, v in agree.items()))
    print(f'pooled over the seeds, the rule picks tau {max(agree, key=agree.get)}; '
          f'the best mean accuracy is at tau {max(mean, key=mean.get)}')
    Path(a.save).parent.mkdir(parents=True, exist_ok=True)
    Path(a.save).write_text(json.dumps({'seeds': a.seeds, 'taus': a.taus, 'results': res}, indent=1))

if __name__ == '__main__': main()
