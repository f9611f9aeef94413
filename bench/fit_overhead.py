"""`sscl fit` against a plain PyTorch loop doing the same optimizer steps on the same data, for the small models
scientists train on tabular data: an MLP of about 40k parameters (20 -> [128, 128, 128] -> 8, a projector 8 ->
[64] -> 32), batch 1000, Gaussian-noise views, SupCon at temperature 0.5, AdamW.

- sscl: `sscl fit` in this process with the config below (an ArrayDataModule on the arrays, its default
  validation every epoch: loss and the online kNN accuracy, checkpoints, CSV and TensorBoard logs). The training
  loop is timed by a callback from the start to the end of `fit`'s training (validation epochs included); the whole
  command (start-up, the final embedding of the train and test splits, plots and results.json) is timed apart.
- plain: the same model (sscl's encoder, projector and loss), the same standardised training samples in shuffled
  batches of 1000 with the same noise views, AdamW, the same number of optimizer steps; no validation, no logging,
  no checkpoints.
Each runs --reps times, interleaved; medians and the ratio are printed.

usage: OMP_NUM_THREADS=1 python bench/fit_overhead.py [--steps 1500] [--reps 7] [--samples 300000]"""
import argparse, json, os, statistics, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

CONFIG = """
seed_everything: 0
trainer:
  max_steps: {steps}
  max_epochs: -1
  default_root_dir: {run}
  enable_progress_bar: false
  enable_model_summary: false
  callbacks: [{{class_path: fit_overhead.LoopClock, init_args: {{out: {clock}}}}}]
model:
  encoder: {{class_path: sscl.encoders.MLP, init_args: {{input_dim: 20, hidden_dims: [128, 128, 128], output_dim: 8}}}}
  projector: {{class_path: sscl.encoders.MLP, init_args: {{hidden_dims: [64], output_dim: 32}}}}
  temperature: 0.5
  optimizer: {{class_path: torch.optim.AdamW, init_args: {{lr: 0.001}}}}
data:
  class_path: sscl.pairs.ArrayDataModule
  init_args:
    path: {data}
    batch_size: 1000
    mode: labels
"""

class LoopClock(Callback):
    "Seconds from the start to the end of fit's training loop (validation epochs included), written to `out`."
    def __init__(self, out:str): self.out = out
    def on_train_start(self, trainer, pl_module): self.t0 = time.perf_counter()
    def on_train_end(self, trainer, pl_module):
        Path(self.out).write_text(json.dumps({'loop_s': time.perf_counter() - self.t0, 'steps': trainer.global_step}))

def make_data(path:Path, n:int, seed:int=0):
    "Four Gaussian classes in 20 dimensions with different scales per feature."
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = (rng.normal(size=(n, 20)) + 2 * np.eye(4, 20)[y]) * rng.uniform(0.1, 10, 20)
    np.savez(path, x=x.astype(np.float32), y=y)

def run_sscl(data:Path, steps:int, work:Path, i:int) -> dict:
    "One `sscl fit`; the loop's and the whole command's seconds."
    from sscl.commands import main
    run, clock = work/f'run{i}', work/f'clock{i}.json'
    cfg = work/f'cfg{i}.yaml'
    cfg.write_text(CONFIG.format(steps=steps, run=run, clock=clock, data=data))
    t0 = time.perf_counter()
    rc = main(['fit', '--config', str(cfg)])
    total = time.perf_counter() - t0
    if rc != 0: raise SystemExit(f'sscl fit failed ({rc})')
    out = json.loads(clock.read_text())
    return {'loop_s': out['loop_s'], 'total_s': total, 'steps': out['steps']}

def run_plain(data:Path, steps:int, seed:int=0) -> dict:
    "The same optimizer steps in a plain loop."
    from sscl.encoders import MLP
    from sscl.losses import SupConLoss
    from sscl.pairs import ArrayDataModule
    dm = ArrayDataModule(str(data), batch_size=1000, mode='labels', seed=seed)
    dm.setup()
    idx = dm.splits['train']
    x = (dm.source.x[idx] - dm.mean) / dm.std  # [N, 20] the standardised training samples
    y = dm.train_labels  # [N]
    torch.manual_seed(seed)
    enc, proj = MLP(20, [128, 128, 128], 8), MLP(8, [64], 32)
    loss_fn = SupConLoss(0.5)
    opt = torch.optim.AdamW(list(enc.parameters()) + list(proj.parameters()), lr=1e-3)
    t0, done = time.perf_counter(), 0
    while done < steps:
        order = torch.randperm(len(x))
        for s in range(0, len(x) - 999, 1000):
            b = order[s:s + 1000]
            xb, yb = x[b], y[b]  # [B, 20], [B]
            views = torch.stack([xb + 0.1 * torch.randn_like(xb) for _ in range(2)], 1)  # [B, 2, 20]
            z = torch.nn.functional.normalize(proj(enc(views.flatten(0, 1))), dim=1).view(len(b), 2, -1)
            loss = loss_fn(z, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps: break
    return {'loop_s': time.perf_counter() - t0, 'steps': done}

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=1500)
    ap.add_argument('--reps', type=int, default=7)
    ap.add_argument('--samples', type=int, default=300_000, help='10%% validation, 20%% test, the rest training')
    ap.add_argument('--out', default=None, help='write the timings as JSON here')
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    warnings.filterwarnings('ignore')
    sys.path.insert(0, str(Path(__file__).parent))  # the clock callback's module, by its class path
    work = Path(tempfile.mkdtemp())
    data = work/'data.npz'
    make_data(data, a.samples)
    rows = {'sscl loop': [], 'sscl command': [], 'plain': []}
    for i in range(a.reps):
        s = run_sscl(data, a.steps, work, i)
        p = run_plain(data, a.steps)
        assert s['steps'] == p['steps'] == a.steps, (s, p)
        rows['sscl loop'].append(s['loop_s'])
        rows['sscl command'].append(s['total_s'])
        rows['plain'].append(p['loop_s'])
        print(f"rep {i}: sscl loop {s['loop_s']:.2f} s, command {s['total_s']:.2f} s; plain {p['loop_s']:.2f} s",
              flush=True)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f'\n{a.steps} steps of batch 1000, {a.samples} samples, {torch.get_num_threads()} thread(s), {a.reps} reps')
    print(f"{'':14s} {'median s':>9s} {'ms/step':>8s} {'/ plain':>8s}")
    for k, v in med.items():
        print(f'{k:14s} {v:9.2f} {1000 * v / a.steps:8.2f} {v / med["plain"]:8.2f}')
    if a.out: Path(a.out).write_text(json.dumps({'args': vars(a), 'runs': rows, 'median': med}, indent=1))

if __name__ == '__main__':
    main()
