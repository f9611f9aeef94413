"""The AutoSciDACT synthetic benchmark at laptop scale, and the same study on digits and toy jets.

gaussians: 5 Gaussian classes in 4 informative dimensions plus `noise_dims` pure-noise dimensions; class 4 is held
out of training; SupCon with a classifier head maps the inputs to 4 dimensions; NPLM and Mahalanobis run on the
embedding and on the raw inputs; median Z (16-84% band) against the injected fraction of class-4 samples.
digits: digit 9 held out, a small CNN into 4 dimensions, raw space = the 64 pixels.
jets: 3-prong (top) jets held out, DeepSets into 4 dimensions (no raw-space test: jets are variable-size sets).
usage: OMP_NUM_THREADS=2 python bench/discovery_synthetic.py --case gaussians --noise-dims 0,16,64"""
import argparse, os, tempfile, time, warnings
import numpy as np, torch, torch.nn as nn, lightning as L
from sscl.discovery import NPLM, Mahalanobis, injection_sweep
from sscl.encoders import MLP, SmallCNN, DeepSets
from sscl.model import SimCLRModel
from sscl.pairs import ArrayDataModule, DigitsDataModule, ToyJetsDataModule, simulate_gaussians, simulate_jets

def train(model, dm, epochs):
    L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0).fit(model, dm)
    return model.eval()

def embed(model, x, bs=2048):
    with torch.no_grad(): return torch.cat([model(torch.as_tensor(x[i:i + bs])) for i in range(0, len(x), bs)]).double()

def sweep(spaces, fractions, a, seed):
    "spaces: name -> (background pool, signal pool, Mahalanobis (h, y) training set)."
    tests, pools = {}, {}
    for name, (bkg, sig, (htr, ytr)) in spaces.items():
        nplm, maha = NPLM(bkg, M=a.M), Mahalanobis(htr, ytr)
        res = injection_sweep({'NPLM': lambda r, d, n_expected, n=nplm: n.statistic(r, d, n_expected), 'Mahalanobis': maha.statistic},
                              bkg, sig, fractions, a.n_ref, a.n_data, a.toys, a.null, seed=seed, progress=False)
        for k, v in res.items(): tests[f'{k} {name}'] = v
    return tests

def table(title, res, fractions):
    print(f'\n{title}\n\n| signal | ' + ' | '.join(res) + ' |\n|---|' + '---|' * len(res))
    for i, f in enumerate(fractions):
        print(f'| {100 * f:.1f}% | ' + ' | '.join(f"{r['median'][i]:.1f} [{r['lo'][i]:.1f}, {r['hi'][i]:.1f}]" for r in res.values()) + ' |', flush=True)

def gaussians(a, fractions):
    for nd in map(int, a.noise_dims.split(',')):
        t0 = time.time()
        x, y = simulate_gaussians(5, a.per_class, 4, nd, separation=3.0, seed=a.seed)
        rng = np.random.default_rng(a.seed); tr = np.zeros(len(y), bool)
        for c in range(5): tr[rng.choice(np.flatnonzero(y == c), a.train_per_class, replace=False)] = True
        tmp = tempfile.mkdtemp(); np.savez(f'{tmp}/g.npz', x=x[tr], y=y[tr])
        dm = ArrayDataModule(f'{tmp}/g.npz', batch_size=512, mode='labels', exclude_classes=[4], val_fraction=0.05, test_fraction=0.05)
        model = train(SimCLRModel(MLP(4 + nd, [128, 64], 4), MLP(4, [16], 4), temperature=0.5, classifier=nn.Linear(4, 4),
                                  lambda_classifier=0.5, plot_every_n_epochs=0, optimizer=lambda p: torch.optim.AdamW(p, lr=3e-3)), dm, a.epochs)
        ev, known = ~tr, ~tr & (y != 4)
        h, raw = embed(model, x), torch.as_tensor(x, dtype=torch.float64)
        fit = tr & (y != 4)
        spaces = {'embedding': (h[known], h[ev & (y == 4)], (h[fit], y[fit])),
                  'raw': (raw[known], raw[ev & (y == 4)], (raw[fit], y[fit]))}
        table(f'Gaussian classes, 4 informative + {nd} noise dimensions (class 4 held out; N_R={a.n_ref}, N_D={a.n_data}; '
              f'{a.toys} toys per fraction, {a.null} null toys; {time.time() - t0:.0f} s)', sweep(spaces, fractions, a, a.seed), fractions)

def digits(a, fractions):
    t0 = time.time()
    dm = DigitsDataModule(batch_size=128, mode='labels', exclude_classes=[9], test_fraction=0.5, seed=a.seed)
    model = train(SimCLRModel(SmallCNN(1, 4, channels=[32, 64]), MLP(4, [64], 32), temperature=0.1, classifier=nn.Linear(4, 9),
                              lambda_classifier=0.5, plot_every_n_epochs=0, optimizer=lambda p: torch.optim.AdamW(p, lr=3e-3)), dm, a.epochs)
    x, y = dm.source.x, dm.source.y.numpy()
    test = np.zeros(len(y), bool); test[dm.splits['test'].numpy()] = True
    fit = ~test & (y != 9)
    h, raw = embed(model, x), x.flatten(1).double()
    spaces = {'embedding': (h[test & (y != 9)], h[test & (y == 9)], (h[fit], y[fit])),
              'raw': (raw[test & (y != 9)], raw[y == 9], (raw[fit], y[fit]))}
    table(f'digits, digit 9 held out (N_R={a.n_ref}, N_D={a.n_data}; {time.time() - t0:.0f} s)', sweep(spaces, fractions, a, a.seed), fractions)

def jets(a, fractions):
    t0 = time.time()
    dm = ToyJetsDataModule(n_per_class=a.train_per_class, batch_size=256, mode='labels', exclude_classes=[2], sim_seed=a.seed)
    model = train(SimCLRModel(DeepSets(3, 4), MLP(4, [16], 4), temperature=0.5, classifier=nn.Linear(4, 2), lambda_classifier=0.5,
                              plot_every_n_epochs=0), dm, a.epochs)
    xe, ye = simulate_jets(a.per_class, seed=a.seed + 1)  # independent jets for the tests
    h = embed(model, torch.from_numpy(xe))
    xtr, ytr = dm.source.x, dm.source.y.numpy(); fit = ytr != 2
    spaces = {'embedding': (h[ye != 2], h[ye == 2], (embed(model, xtr[fit]), ytr[fit]))}
    table(f'toy jets, 3-prong (top) jets held out (N_R={a.n_ref}, N_D={a.n_data}; {time.time() - t0:.0f} s)', sweep(spaces, fractions, a, a.seed), fractions)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--case', choices=['gaussians', 'digits', 'jets'], default='gaussians')
    ap.add_argument('--noise-dims', default='0,16,64'); ap.add_argument('--fractions', default=None)
    ap.add_argument('--per-class', type=int, default=12000); ap.add_argument('--train-per-class', type=int, default=3000)
    ap.add_argument('--n-ref', type=int, default=10000); ap.add_argument('--n-data', type=int, default=2000)
    ap.add_argument('--toys', type=int, default=20); ap.add_argument('--null', type=int, default=100)
    ap.add_argument('--M', type=int, default=None); ap.add_argument('--epochs', type=int, default=15); ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2'))); warnings.filterwarnings('ignore')
    L.seed_everything(a.seed, verbose=False)
    default = {'gaussians': '0,0.002,0.004,0.006,0.01,0.02', 'digits': '0,0.02,0.05,0.1,0.2', 'jets': '0,0.005,0.01,0.02,0.05'}
    fractions = [float(f) for f in (a.fractions or default[a.case]).split(',')]
    {'gaussians': gaussians, 'digits': digits, 'jets': jets}[a.case](a, fractions)

if __name__ == '__main__':
    main()
