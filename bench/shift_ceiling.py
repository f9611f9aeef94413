"""How well can any classifier label the shifted digits target? A likelihood classifier that knows the TRUE measurement.

The target of `configs/digits_shift_pipeline.yaml` is made from clean digits by a known measurement
(`sscl.measure.measure`: contrast, 3x3 blur, Gaussian noise clipped to [0, 1]). Given a set of clean templates with
labels, the class posterior of a measured image is the summed likelihood of the templates of each class
(`sscl.measure.measurement_probs`). Three template sets, from the least to the most that any method could know:
- `source train`: the labelled source training images, all that the pipeline's methods may use;
- `all but itself`: every clean digit of the data set except the image's own clean original (1,796 templates, 2.8x
  the source's; the target's own clean digits included): an estimate of the Bayes accuracy from a richer prior;
- `genie`: every clean digit, the image's own original included: an optimistic bound.
A discriminative peer: an RBF SVM trained on the source training images passed through the true measurement (20
noise draws each), `svm, source train` (the same templates as the first, learned instead of summed).
It also prints the chance that a classifier whose true accuracy is p scores >= 0.95 on every one of five seeds of
this many target test images (binomial), which is what the issue's bar asks.

    python bench/shift_ceiling.py --seeds 0 1 2 8 9 10 11 12 [--out bench/results/shift_ceiling.json]
"""
import argparse, json
from pathlib import Path
import numpy as np, torch, yaml
from scipy.stats import binom
from sscl.measure import censored_loglik, measure, smear
from sscl.pairs import DigitsDataModule, ShiftedDigitsDataModule

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT/'configs'/'digits_shift_pipeline.yaml'

def target_args() -> dict:
    "The target's measurement and split arguments of the pipeline config's round 1."
    a = yaml.safe_load(CONFIG.read_text())['round1']['data.init_args']
    return {k: a[k] for k in ('contrast', 'blur', 'noise', 'target_fraction')}

def accuracies(seed:int, args:dict) -> dict:
    "Target test accuracy of the true-measurement likelihood classifier with each template set."
    dm = ShiftedDigitsDataModule(mode='labels', seed=seed, **args)
    dm.setup()
    clean = DigitsDataModule(seed=seed).load()['all']  # the same digits, before any measurement
    measured = dm.source
    if not torch.equal(clean.y, measured.y): raise RuntimeError('clean and shifted digits are not the same samples')
    te, tr = dm.splits['test'], dm.splits['train']
    ti = te[measured.domain[te] == 1]  # [T] the target test images
    si = tr[measured.domain[tr] == 0]  # [S] the labelled source training images
    mu = smear(clean.x.double(), args['contrast'], args['blur']).flatten(1)  # [1797, 64] templates
    ll = censored_loglik(measured.x[ti].flatten(1), mu, args['noise'])  # [T, 1797]
    y, onehot = measured.y[ti].numpy(), torch.nn.functional.one_hot(clean.y, 10).double()  # [T], [1797, 10]
    def acc(mask):  # mask [T, 1797]: the templates each image may use
        l = ll.masked_fill(~mask, -torch.inf)
        top = l.max(1, keepdim=True).values  # [T, 1]
        return float(((((l - top).exp() @ onehot).argmax(1)).numpy() == y).mean())
    own = torch.zeros_like(ll, dtype=torch.bool)
    own[torch.arange(len(ti)), ti] = True  # each image's own clean original
    src = torch.zeros(len(clean.y), dtype=torch.bool)
    src[si] = True
    return {'n_target_test': len(ti), 'n_source_templates': len(si), 'source train': acc(src.expand_as(ll)),
            'all but itself': acc(~own), 'genie': acc(torch.ones_like(own)),
            'svm, source train': svm_accuracy(clean.x[si], clean.y[si], measured.x[ti], measured.y[ti], args)}

def svm_accuracy(x_clean, y_clean, x_test, y_test, args:dict, draws:int=20) -> float:
    "Target test accuracy of an RBF SVM trained on `draws` true measurements of each clean source image."
    from sklearn.svm import SVC
    g, kw = torch.Generator().manual_seed(0), {k: args[k] for k in ('contrast', 'blur', 'noise')}
    x = torch.cat([measure(x_clean.double(), generator=g, **kw) for _ in range(draws)]).flatten(1)  # [draws * S, 64]
    svm = SVC(C=1.0, gamma='scale').fit(x.numpy(), y_clean.repeat(draws).numpy())
    return float((svm.predict(x_test.flatten(1).double().numpy()) == y_test.numpy()).mean())

def all_seeds_pass(p:float, n:int, seeds:int=5, bar:float=0.95) -> float:
    "P(accuracy >= bar on every seed) for true accuracy p and n test images a seed."
    return float(binom.cdf(np.floor(n * (1 - bar) + 1e-9), n, 1 - p) ** seeds)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--out', type=Path, default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    args, rows = target_args(), {}
    print(f'target: {args}')
    print('| seed | target test images | source train templates | source train | all but itself | genie | svm |')
    print('|---|---|---|---|---|---|---|')
    for s in a.seeds:
        r = rows[s] = accuracies(s, args)
        print(f"| {s} | {r['n_target_test']} | {r['n_source_templates']} | {r['source train']:.3f} | "
              f"{r['all but itself']:.3f} | {r['genie']:.3f} | {r['svm, source train']:.3f} |", flush=True)
    n = int(np.median([r['n_target_test'] for r in rows.values()]))
    for p in (0.95, 0.96, 0.97, 0.98):
        print(f'true accuracy {p:.2f}, {n} target test images: P(>= 0.95 on all 5 seeds) = {all_seeds_pass(p, n):.2f}')
    if a.out: a.out.write_text(json.dumps({'args': args, 'seeds': rows}, indent=1))

if __name__ == '__main__': main()
