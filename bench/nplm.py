"""NPLM at the authors' sizes on this machine: one toy (every kernel width, one Newton step) with sscl's solver against
a plain numpy implementation of the same Newton step, a numpy conjugate-gradient solve of the same system, and
sscl before the subnormal cut of the kernel (values below sqrt(tiny) set to 0: products of small kernels in the Hessian
are subnormal and 5-10 times slower). Same process, interleaved, medians of --reps, ratios to sscl float64.
A last row per size is a floor, not a solver: the work every method does for one toy however it solves (the distances
to the centres once, the kernel of each width, and one product K^T (K v), a single CG iteration, per width).
Then the largest M: one width at N_R = 50,000, N_D = 10,000, M = --big-m, float32, with its time and peak memory.
usage: OMP_NUM_THREADS=2 python bench/nplm.py [--reps 5] [--big-m 10000]"""
import argparse, math, os, resource, statistics, time
import numpy as np, torch
from sscl.discovery import NPLM, fit_klr, gaussian_kernel, sq_dist

def numpy_toy(ref, dat, widths, M, lam, cg=False, seed=0):
    "The statistic of every width with one Newton step from f = 0, in numpy (Cholesky solve, or plain CG)."
    mean, std = ref.mean(0), ref.std(0, ddof=1)
    x = (np.concatenate([dat, ref]) - mean) / std
    nd, nr = len(dat), len(ref)
    y, w = np.r_[np.ones(nd), np.zeros(nr)], np.r_[np.ones(nd), np.full(nr, nd / nr)]
    c = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:M].numpy()]  # sscl's centres
    d2 = np.maximum((x ** 2).sum(1)[:, None] + (c ** 2).sum(1) - 2 * x @ c.T, 0)
    d2c = np.maximum((c ** 2).sum(1)[:, None] + (c ** 2).sum(1) - 2 * c @ c.T, 0)
    out = []
    for s in widths:
        K, Kmm = np.exp(np.maximum(-d2 / (2 * s * s), -700)), np.exp(-d2c / (2 * s * s))
        g, sw = K.T @ (w * (0.5 - y)), w / 4  # gradient and Hessian weights at f = 0 (p = 1/2)
        L = 2 * lam * w.sum()
        if cg:
            a = -plain_cg(lambda v: K.T @ (sw * (K @ v)) + L * (Kmm @ v), g)
        else:
            H = K.T @ (sw[:, None] * K) + L * Kmm
            a = -np.linalg.solve(H + 1e-10 * np.eye(M) * np.diag(Kmm).mean(), g)
        f = K @ a
        out.append(2 * (f[:nd].sum() - nd / nr * np.expm1(f[nd:]).sum()))
    return np.array(out)

def plain_cg(apply, b, iters=100, tol=1e-6):
    "Conjugate gradient without a preconditioner (what a numpy user writes first), at most 100 iterations."
    x, r = np.zeros_like(b), b.copy()
    p, rr = r.copy(), r @ r
    for _ in range(iters):
        Ap = apply(p)
        alpha = rr / (p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        if math.sqrt(r @ r) <= tol * math.sqrt(b @ b): break
        rr, rr_old = r @ r, rr
        p = r + (rr / rr_old) * p
    return x

def unfloored(x, c, sigma, d2=None):
    "The kernel as sscl computed it before: exp straight through the subnormal range."
    return torch.exp((sq_dist(x, c) if d2 is None else d2) * (-0.5 / sigma ** 2))

def floor_toy(nplm, ref, dat, M, seed=0):
    "The least work of one toy: distances once, each width's [N, M] kernel, one Hessian-vector product K^T (K v)."
    x = nplm.standardise(torch.as_tensor(np.concatenate([dat, ref])))  # [N, d]
    c = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:M]]  # [M, d]
    d2, v = sq_dist(x, c), torch.ones(M, dtype=x.dtype)  # [N, M], [M]
    for s in nplm.widths:
        K = gaussian_kernel(x, c, s, d2)  # [N, M]
        K.T @ (K @ v)  # [M]

FLOOR = 'floor: 6 kernels + one CG iteration each (no solve)'

def timed(fn, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument('--big-m', type=int, default=10000)
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))
    rng = np.random.default_rng(0)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} thread(s); one toy = 6 widths, one Newton step;'
          f' medians of {a.reps}\n')
    print('| N_R / N_D / M | implementation | s per toy | x sscl float64 | largest rel. diff of t |\n|---|---|---|---|---|')
    for nr, nd, M in ((10000, 2000, 110), (50000, 10000, 245), (50000, 10000, 1000)):
        ref, dat = rng.normal(size=(nr, 4)), rng.normal(size=(nd, 4)) + 0.02
        n64, n32 = NPLM(ref, M=M, lam=1e-6), NPLM(ref, M=M, lam=1e-6, dtype=torch.float32)
        t_ref = n64.statistic(ref, dat, seed=0)
        impls = {'sscl float64 (exact Newton step)': lambda: n64.statistic(ref, dat, seed=0),
                 'sscl float32 kernels': lambda: n32.statistic(ref, dat, seed=0),
                 'numpy, the same step (Cholesky)': lambda: numpy_toy(ref, dat, n64.widths, M, 1e-6),
                 'numpy, plain CG of the same system': lambda: numpy_toy(ref, dat, n64.widths, M, 1e-6, cg=True)}
        import sscl.discovery as D
        def before():
            D.gaussian_kernel = unfloored
            try: return n64.statistic(ref, dat, seed=0)
            finally: D.gaussian_kernel = gaussian_kernel
        impls['sscl before the subnormal cut'] = before
        impls[FLOOR] = lambda: floor_toy(n64, ref, dat, M)
        times = {k: [] for k in impls}
        first = {k: f() for k, f in impls.items()}  # every implementation run once before timing (the floor too)
        diffs = {k: '-' if k == FLOOR else f'{np.max(np.abs(t - t_ref) / np.abs(t_ref)):.1e}' for k, t in first.items()}
        for _ in range(a.reps):
            for k, f in impls.items(): times[k] += timed(f, 1)
        base = statistics.median(times['sscl float64 (exact Newton step)'])
        for k in impls:
            m = statistics.median(times[k])
            print(f'| {nr} / {nd} / {M} | {k} | {m:.2f} | {m / base:.2f} | {diffs[k]} |', flush=True)
    nr, nd, M = 50000, 10000, a.big_m
    x = torch.randn(nr + nd, 4, dtype=torch.float32)
    y, w = torch.cat([torch.ones(nd), torch.zeros(nr)]), torch.cat([torch.ones(nd), torch.full((nr,), nd / nr)])
    t = time.perf_counter()
    c = x[torch.randperm(len(x))[:M]]
    K, Kmm = gaussian_kernel(x, c, 1.0), gaussian_kernel(c, c, 1.0)
    fit_klr(K, Kmm, y, w, 1e-6 * float(w.sum()), 1)
    print(f'\nM = {M}, one width, float32, N_R = {nr}, N_D = {nd}: {time.perf_counter() - t:.1f} s,'
          f' peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20:.1f} GiB')

if __name__ == '__main__':
    main()
