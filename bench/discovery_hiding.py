"""Does the embedding keep the held-out class apart from the known ones? A quick proxy, without NPLM toys.

For one generator seed and training options (`sscl fit` options over configs/synthetic_supcon.yaml), it trains,
embeds the test split, and scores how well a 100-nearest-neighbour classifier tells held-out (class 3) test events
from as many known-class events: the ROC AUC, and the share of held-out events above the 99.5th percentile of the
known events' scores (the tail that matters at small signal fractions). The same on the raw informative dimensions
of the same events is the peer. Seconds per case, where an NPLM sweep takes minutes; a proxy, not a significance.

usage: OMP_NUM_THREADS=1 python bench/discovery_hiding.py SEED [sscl fit options, e.g. --model.temperature 0.5]
(the thread count changes the training a little: seed 0 gives 0.9396/0.40 on one thread, 0.9414/0.42 on two)"""
import sys, tempfile
from pathlib import Path
import numpy as np, yaml
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
sys.path.insert(0, str(Path(__file__).resolve().parent))
from discovery_synthetic import CONFIG, fit_and_embed, raw_files  # the same training and raw files as the sweeps

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
    seed, opts = int(sys.argv[1]), sys.argv[2:]
    with tempfile.TemporaryDirectory(prefix='sscl_hiding_') as tmp:  # the bench's own folder, removed after
        work = Path(tmp)
        knn = fit_and_embed(seed, 1, work, opts)
        d = np.load(work/'run'/'predict'/'test.npz')
        n_per_class = yaml.safe_load(CONFIG.read_text())['data']['init_args']['n_per_class']
        raw = np.load(raw_files(work, seed, 1, n_per_class)['raw informative']['test'])
        h, y, h_raw, y_raw = d['h'], d['y'], raw['h'], raw['y']
    rng = np.random.default_rng(0)
    print(f"seed {seed}, {' '.join(opts) or 'the config'}: kNN {knn:.3f}; AUC/tail, embedding "
          f"{separation(h, y, rng)}, raw informative {separation(h_raw, y_raw, rng)}")

if __name__ == '__main__': main()
