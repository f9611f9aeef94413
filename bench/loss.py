"""Forward+backward time and peak memory of contrastive losses (SimCLR, V = 2 views).

Compared in one process, interleaved, medians of --reps runs: sscl's SupConLoss; lightly's NTXentLoss;
pytorch-metric-learning's SupConLoss; a dense-mask reference written from the SupCon paper's formula; and a
naive lower bound (similarity matmul, row logsumexp with the diagonal masked, picking the positives, autograd
backward). Peak memory is measured per implementation in a fresh process: the peak resident set during one
forward+backward (after resetting the peak) minus the resident set before it. usage: OMP_NUM_THREADS=1 python bench/loss.py [--reps 7] [--sizes 256,1024,4096] [--dims 8,128]
"""
import argparse, os, statistics, subprocess, sys, time
import torch
import torch.nn.functional as F

TAU = 0.1

def naive(z):
    "Lower bound: one similarity matrix, masked logsumexp, the positives picked by index."
    B = z.shape[0]
    Z = torch.cat([z[:, 0], z[:, 1]])
    S = Z @ Z.T / TAU
    S = S.masked_fill(torch.eye(2 * B, dtype=torch.bool, device=z.device), float('-inf'))
    dev = z.device
    pos = torch.cat([torch.arange(B, 2 * B, device=dev), torch.arange(B, device=dev)])
    return (torch.logsumexp(S, 1) - S[torch.arange(2 * B, device=dev), pos]).mean()

def dense_reference(z, labels=None):
    "The SupCon paper's formula with dense [N, N] masks (as in HobbitLong/SupContrast)."
    B, V, _ = z.shape
    Z = torch.cat(torch.unbind(z, 1))
    lab = torch.arange(B, device=z.device) if labels is None else labels
    mask = (lab[:, None] == lab[None, :]).float().repeat(V, V)
    logits_mask = 1 - torch.eye(B * V, device=z.device)
    mask = mask * logits_mask
    logits = Z @ Z.T / TAU
    logits = logits - logits.max(1, keepdim=True)[0].detach()
    log_prob = logits - torch.log((torch.exp(logits) * logits_mask).sum(1, keepdim=True))
    return -((mask * log_prob).sum(1) / mask.sum(1)).mean()

def implementations():
    from sscl.losses import SupConLoss
    from lightly.loss import NTXentLoss
    from pytorch_metric_learning.losses import SupConLoss as PML
    ours, lightly, pml = SupConLoss(TAU), NTXentLoss(TAU), PML(TAU)
    return {'sscl': lambda z: ours(z),
            'lightly NTXent': lambda z: lightly(z[:, 0], z[:, 1]),
            'pml SupCon': lambda z: pml(torch.cat([z[:, 0], z[:, 1]]), torch.arange(z.shape[0], device=z.device).repeat(2)),
            'dense reference': dense_reference,
            'naive bound': naive}

def inputs(B, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(B, 2, d, generator=g), dim=-1)

def step(fn, x):
    z = x.clone().requires_grad_(True)
    loss = fn(z); loss.backward()
    return loss.item()  # .item() also waits for a GPU to finish

def _status_kib(field):
    for line in open('/proc/self/status'):
        if line.startswith(field): return int(line.split()[1])

def reset_peak() -> int:
    "Reset the peak resident set (Linux: clear_refs 5) and return the current resident set in KiB."
    with open('/proc/self/clear_refs', 'w') as f: f.write('5')
    return _status_kib('VmRSS:')

def peak() -> int:
    return _status_kib('VmHWM:')

def peak_memory(name, B, d):
    "Run in a fresh process: MiB by which one forward+backward raises the peak resident set."
    code = (f'import torch, sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); import loss as L;'
            f'torch.set_num_threads(1); fn = L.implementations()[{name!r}]; x = L.inputs({B}, {d});'
            f'L.step(fn, L.inputs(8, {d})); r0 = L.reset_peak(); L.step(fn, x); print((L.peak() - r0) / 1024)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    return float(out.stdout.strip()) if out.returncode == 0 else float('nan')

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--reps', type=int, default=7)
    ap.add_argument('--sizes', default='256,1024,4096')
    ap.add_argument('--dims', default='8,128')
    ap.add_argument('--no-memory', action='store_true')
    ap.add_argument('--device', default='cpu', help='cpu or cuda (peak memory is measured on the CPU only)')
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    impls = implementations()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} thread(s), V = 2, tau = {TAU}, medians of {a.reps} interleaved runs\n')
    print(f'| B | d | implementation | ms | x naive bound | peak extra MiB |\n|---|---|---|---|---|---|')
    for B in map(int, a.sizes.split(',')):
        for d in map(int, a.dims.split(',')):
            x = inputs(B, d).to(a.device)
            ref = step(impls['naive bound'], x)
            times = {k: [] for k in impls}
            for k, fn in impls.items():  # warm-up, and every implementation computes the same SimCLR loss
                v = step(fn, x)
                assert abs(v - ref) < 1e-3 * max(1, abs(ref)), (k, v, ref)
            for _ in range(a.reps):
                for k, fn in impls.items():
                    t = time.perf_counter(); step(fn, x); times[k].append(1e3 * (time.perf_counter() - t))
            base = statistics.median(times['naive bound'])
            for k in impls:
                m = statistics.median(times[k])
                mem = float('nan') if a.no_memory or a.device != 'cpu' else peak_memory(k, B, d)
                print(f'| {B} | {d} | {k} | {m:.1f} | {m / base:.2f} | {mem:.0f} |', flush=True)

if __name__ == '__main__':
    main()
