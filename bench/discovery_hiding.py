"""Does the embedding keep the held-out class apart from the known ones? A quick proxy, without NPLM toys.

For one generator seed and training options (`sscl fit` options over configs/synthetic_supcon.yaml), it trains,
embeds the test split, and scores how well a 100-nearest-neighbour classifier tells held-out (class 3) test events
from as many known-class events: the ROC AUC, and the share of held-out events above the 99.5th percentile of the
known events' scores (the tail that matters at small signal fractions). The same on the raw informative dimensions
of the same events is the peer. Seconds per case, where an NPLM sweep takes minutes; a proxy, not a significance.

usage: python bench/discovery_hiding.py SEED [sscl fit options, e.g. --model.temperature 0.5]"""
import json, subprocess, sys, tempfile
from pathlib import Path
import numpy as np, yaml
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier

ROOT = Path(__file__).resolve().parent.parent

def separation(h, y, rng, held_out=3, k=100) -> str:
    "'AUC/tail share' of a kNN classifier of held-out against known events, trained on half, scored on the rest."
    known, sig = np.where(y != held_out)[0], np.where(y == held_out)[0]
    idx = rng.permutation(np.concatenate([rng.permutation(known)[:len(sig)], sig]))
    x, lab = (h[idx] - h[idx].mean(0)) / h[idx].std(0), (y[idx] == held_out).astype(int)
    n = len(idx) // 2
    p = KNeighborsClassifier(k).fit(x[:n], lab[:n]).predict_proba(x[n:])[:, 1]
    thr = np.quantile(p[lab[n:] == 0], 0.995)
    return f'{roc_auc_score(lab[n:], p):.4f}/{(p[lab[n:] == 1] > thr).mean():.2f}'

def main():
    if len(sys.argv) < 2: sys.exit(__doc__)
    from sscl.pairs import simulate_benchmark
    seed, opts = int(sys.argv[1]), sys.argv[2:]
    work = Path(tempfile.mkdtemp(prefix='sscl_hiding_'))
    def sscl(*a): subprocess.run([sys.executable, '-m', 'sscl', *map(str, a)], check=True, capture_output=True)
    sscl('fit', '--config', ROOT/'configs'/'synthetic_supcon.yaml', '--seed_everything', seed,
         '--data.init_args.sim_seed', seed, '--trainer.default_root_dir', work/'run',
         '--trainer.enable_progress_bar', 'false', *opts)
    sscl('predict', '--config', work/'run'/'config.yaml', '--ckpt_path', work/'run'/'checkpoints'/'last.ckpt',
         '--trainer.enable_progress_bar', 'false')
    d = np.load(work/'run'/'predict'/'test.npz')
    knn = json.loads((work/'run'/'results.json').read_text())['test_knn_accuracy']
    cfg = yaml.safe_load((ROOT/'configs'/'synthetic_supcon.yaml').read_text())
    n_per_class = cfg['data']['init_args']['n_per_class']
    _, y, xi, _ = simulate_benchmark(n_per_class=n_per_class, seed=seed)
    rng = np.random.default_rng(0)
    print(f"seed {seed}, {' '.join(opts) or 'the config'}: kNN {knn:.3f}; AUC/tail, embedding "
          f"{separation(d['h'], d['y'], rng)}, raw informative {separation(xi[d['idx']], y[d['idx']], rng)}")

if __name__ == '__main__': main()
