"""The best any two-sample test can do on the synthetic benchmark: the Neyman-Pearson likelihood ratio with the true
densities, at the sizes of bench/discovery_synthetic.py (N_D = 2,000 expected data events, Poisson sizes).

The classes of `sscl.pairs.simulate_benchmark` are Gaussians with per-dimension widths in the informative
dimensions. Their means and widths are estimated here from 20,000 samples per class (the generator's own draw), so
nothing of the generator is written twice. For a signal fraction f of the held-out class, the statistic of one
toy is the sum over its events of log[(1 - f) + f p_signal(x) / p_reference(x)]; its null distribution comes from
`--null` toys without signal. Reported per fraction: the median signal toy's empirical p and Z (from the null
toys; capped by their number), and a Gaussian approximation of the null for Z beyond the toys' reach.

NPLM needs no shape of the signal; this oracle knows it exactly. The gap between them is what a test could gain,
not a bar NPLM can reach.

usage: python bench/discovery_oracle.py --seeds 1 2 3 4 [--fractions 0.002 0.004 0.006 0.01] [--null 2000]"""
import argparse, json
from pathlib import Path
import numpy as np
from scipy import stats

def class_params(seed:int, held_out:int=3, n:int=20000):
    "Means [C, d] and widths [C, d] of the benchmark's classes in the informative dimensions, from its own samples."
    from sscl.pairs import simulate_benchmark
    _, y, xi, _ = simulate_benchmark(seed=seed, n_per_class=n)
    mu = np.stack([xi[y == c].mean(0) for c in range(y.max() + 1)])
    sd = np.stack([xi[y == c].std(0) for c in range(y.max() + 1)])
    return mu, sd

def log_ratio(x, mu, sd, f, held_out=3):
    "log[(1 - f) + f p_s(x) / p_r(x)] per event; p_r: the other classes, equally likely."
    logp = np.stack([stats.norm.logpdf(x, m, s).sum(-1) for m, s in zip(mu, sd)])  # [C, N]
    ref = np.delete(logp, held_out, 0)
    log_r = np.logaddexp.reduce(ref, axis=0) - np.log(len(ref))
    return np.logaddexp(np.log1p(-f), np.log(f) + logp[held_out] - log_r)

def toy(rng, mu, sd, n_data, f, held_out=3):
    "One data set: Poisson(n_data (1 - f)) reference events and Poisson(n_data f) signal events."
    known = [c for c in range(len(mu)) if c != held_out]
    c = rng.choice(known, rng.poisson(n_data * (1 - f)))
    n_s = rng.poisson(n_data * f)
    x = np.concatenate([mu[c] + rng.normal(size=(len(c), mu.shape[1])) * sd[c],
                        mu[held_out] + rng.normal(size=(n_s, mu.shape[1])) * sd[held_out]])
    return x

def oracle(seed:int, fractions, n_data:int, n_null:int, n_toys:int) -> dict:
    mu, sd = class_params(seed)
    rng, out = np.random.default_rng(seed + 100), {}
    for f in fractions:
        null = np.array([log_ratio(toy(rng, mu, sd, n_data, 0.0), mu, sd, f).sum() for _ in range(n_null)])
        alt = np.array([log_ratio(toy(rng, mu, sd, n_data, f), mu, sd, f).sum() for _ in range(n_toys)])
        med = np.median(alt)
        p = ((null >= med).sum() + 1) / (n_null + 1)
        out[str(f)] = {'p_empirical': float(p), 'z_empirical': float(stats.norm.isf(p)),
                       'z_gaussian_null': float((med - null.mean()) / null.std())}
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3, 4])
    ap.add_argument('--fractions', type=float, nargs='+', default=[0.002, 0.004, 0.006, 0.01])
    ap.add_argument('--n-data', type=int, default=2000)
    ap.add_argument('--null', type=int, default=2000, help='null toys per fraction')
    ap.add_argument('--toys', type=int, default=200, help='signal toys per fraction')
    ap.add_argument('--out', default=None, help='write the results as JSON here')
    a = ap.parse_args()
    res = {s: oracle(s, a.fractions, a.n_data, a.null, a.toys) for s in a.seeds}
    print(f'Neyman-Pearson oracle, N_D = {a.n_data}: median Z (empirical from {a.null} null toys / Gaussian null)\n')
    print('| generator seed | ' + ' | '.join(f'{f:.1%}' for f in a.fractions) + ' |')
    print('|---' * (len(a.fractions) + 1) + '|')
    for s, r in res.items():
        cells = [f'{r[str(f)]["z_empirical"]:.1f} / {r[str(f)]["z_gaussian_null"]:.1f}' for f in a.fractions]
        print(f'| {s} | ' + ' | '.join(cells) + ' |')
    if a.out: Path(a.out).write_text(json.dumps({'seeds': a.seeds, 'fractions': a.fractions, 'results': res}, indent=1))

if __name__ == '__main__': main()
