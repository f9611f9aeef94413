"""One NPLM fit (N_R = 20,000 reference, N_D = 2,000 data, d = 4, M = 150 centres, one kernel width, one Newton
step) with sscl's torch implementation, a plain numpy implementation of the same Newton step, and scikit-learn
(Nystroem features + weighted LogisticRegression); same process, interleaved, medians of --reps. Then the time of a
full null calibration (300 toys, 6 widths) with sscl. usage: OMP_NUM_THREADS=2 python bench/nplm.py"""
import argparse, os, statistics, time
import numpy as np, torch
from sscl.discovery import NPLM, calibrate, fit_klr, gaussian_kernel

def numpy_fit(x, centres, y, w, sigma, lam):
    "The same single Newton step from a = 0, written plainly in numpy."
    def k(a, b): return np.exp(-((a[:, None, :] - b[None]) ** 2).sum(-1) / (2 * sigma ** 2))
    K, Kmm = k(x, centres), k(centres, centres)
    p = np.full(len(x), 0.5)
    g = K.T @ (w * (p - y)); H = K.T @ ((w * p * (1 - p))[:, None] * K) + 2 * lam * Kmm
    return -np.linalg.solve(H + 1e-10 * np.eye(len(Kmm)), g), K

def sklearn_fit(x, y, w, sigma, M, seed=0):
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import LogisticRegression
    feats = Nystroem(gamma=1 / (2 * sigma ** 2), n_components=M, random_state=seed).fit_transform(x)
    return LogisticRegression(C=1e3, max_iter=200).fit(feats, y, sample_weight=w)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--reps', type=int, default=7); ap.add_argument('--toys', type=int, default=300)
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))
    rng = np.random.default_rng(0)
    NR, ND, d, M, sigma = 20000, 2000, 4, 150, 1.0
    ref, dat = rng.normal(size=(NR, d)), rng.normal(size=(ND, d))
    x = np.concatenate([dat, ref]); y = np.r_[np.ones(ND), np.zeros(NR)]; w = np.r_[np.ones(ND), np.full(NR, ND / NR)]
    centres = x[rng.permutation(len(x))[:M]]; lam = 1e-6 * w.sum()
    xt, ct, yt, wt = (torch.from_numpy(v) for v in (x, centres, y, w))
    def ours(dtype):
        xs, cs = xt.to(dtype), ct.to(dtype)
        K = gaussian_kernel(xs, cs, sigma)
        a = fit_klr(K, gaussian_kernel(cs, cs, sigma), yt.to(dtype), wt.to(dtype), lam, 1)
        return a, (K @ a).double()
    impls = {'sscl (torch, float32 kernels, approximate)': lambda: ours(torch.float32),
             'sscl (torch, float64: the default)': lambda: ours(torch.float64),
             'numpy Newton step (float64)': lambda: numpy_fit(x, centres, y, w, sigma, lam),
             'sklearn Nystroem + LogisticRegression': lambda: sklearn_fit(x, y, w, sigma, M)}
    a_np, K_np = numpy_fit(x, centres, y, w, sigma, lam)
    f_np = K_np @ a_np
    assert np.allclose(ours(torch.float64)[1].numpy(), f_np, rtol=1e-6, atol=1e-8), 'the torch and numpy Newton steps disagree'
    f32 = ours(torch.float32)[1].numpy()
    print(f'float32 kernels: largest |f - f_numpy| = {np.abs(f32 - f_np).max():.1e} (|f| up to {np.abs(f_np).max():.2f})')
    times = {k: [] for k in impls}
    for _ in range(a.reps):
        for k, f in impls.items():
            t = time.perf_counter(); f(); times[k].append(1e3 * (time.perf_counter() - t))
    base = statistics.median(times['sscl (torch, float64: the default)'])
    print(f'torch {torch.__version__}, {torch.get_num_threads()} thread(s); N_R={NR}, N_D={ND}, d={d}, M={M}; medians of {a.reps}\n')
    print('| implementation | ms per fit | x sscl |\n|---|---|---|')
    for k in impls: m = statistics.median(times[k]); print(f'| {k} | {m:.1f} | {m / base:.1f} |')
    nplm = NPLM(ref, M=M)
    t = time.perf_counter()
    calibrate(lambda r, dd, n_expected: nplm.statistic(r, dd, n_expected), np.concatenate([ref, rng.normal(size=(NR, d))]),
              NR, ND, n_toys=a.toys, progress=False)
    print(f'\nnull calibration: {a.toys} toys x {len(nplm.widths)} widths in {time.perf_counter() - t:.1f} s')

if __name__ == '__main__':
    main()
