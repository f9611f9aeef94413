"""The AutoSciDACT synthetic benchmark through the commands a user runs: `sscl fit` (SupCon, class 3 held out),
`sscl predict` (the test embedding), `sscl discover` (injection sweep of class 3) with configs/discovery/synthetic.yaml,
on the embedding and, in the same run, on the raw inputs: the 4 informative dimensions before rotation, and all the
rotated dimensions (informative + noise). NPLM, Mahalanobis, MMD and the Frechet distance; median Z per fraction and
the fraction where the median crosses Z = 3 (linear interpolation between the fractions run).

usage: python bench/discovery_synthetic.py --seeds 2 3 4 [--noise-dims 1] [--out bench/results/NAME.json]
       python bench/discovery_synthetic.py --seeds 2 --noise-dims 1 4 8 16 32 --fractions 0 0.01 0.02 0.03 (the scan)
       python bench/discovery_synthetic.py --seeds 0 1 --set model.temperature=0.01 (another training recipe: the paper's)
       python bench/discovery_synthetic.py --seeds 11 --discover M=400 --discover 'tests=[nplm]' (other NPLM settings)"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np, yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT/'configs'/'synthetic_supcon.yaml'

def sscl(*args):
    "Run an sscl command; stop the bench with its output if it fails."
    r = subprocess.run([sys.executable, '-m', 'sscl', *map(str, args)], capture_output=True, text=True)
    if r.returncode: sys.exit(f'sscl {args[0]} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}')
    return r.stdout

def crossing(fractions, median, level=3.0):
    "The first fraction where the median Z reaches `level`, linearly interpolated; None if it never does."
    for i in range(1, len(fractions)):
        if median[i] >= level:
            f0, f1, z0, z1 = fractions[i - 1], fractions[i], median[i - 1], median[i]
            return f0 + (level - z0) * (f1 - f0) / (z1 - z0) if z0 < level else f0
    return None

def raw_files(work, seed, noise_dims, n_per_class):
    "Embedding-format files of the raw inputs for the same samples (idx) as the learned embedding."
    from sscl.pairs import simulate_benchmark
    x, y, xi, _ = simulate_benchmark(n_per_class=n_per_class, noise_dims=noise_dims, seed=seed)
    out = {}
    for split, src in (('test', work/'run'/'predict'/'test.npz'), ('train', work/'run'/'embeddings'/'train.npz')):
        idx = np.load(src)['idx']
        for name, arr in (('raw informative', xi), ('raw all dims', x)):
            p = work/f"{name.replace(' ', '_')}_{split}.npz"
            np.savez(p, h=arr[idx], y=y[idx], idx=idx)
            out.setdefault(name, {})[split] = p
    return out

def discover_options(pairs):
    "['--KEY', 'VALUE', ...] for `sscl discover` from KEY=VALUE strings (VALUE as on its command line)."
    out = []
    for kv in pairs:
        if '=' not in kv: sys.exit(f'--discover takes KEY=VALUE, not {kv!r}')
        k, v = kv.split('=', 1)
        out += [f'--{k}', v]
    return out

def fit_and_embed(seed:int, noise_dims:int, work:Path, options=()) -> float:
    "`sscl fit` of the config (plus `options`) into work/run, then `sscl predict`; the known-class kNN accuracy."
    sscl('fit', '--config', CONFIG, '--seed_everything', seed,
         '--data.init_args.sim_seed', seed, '--data.init_args.noise_dims', noise_dims,
         '--model.encoder.init_args.input_dim', 4 + noise_dims, '--trainer.default_root_dir', work/'run',
         '--trainer.enable_progress_bar', 'false', *options)
    sscl('predict', '--config', work/'run'/'config.yaml', '--ckpt_path', work/'run'/'checkpoints'/'last.ckpt',
         '--trainer.enable_progress_bar', 'false')
    return json.loads((work/'run'/'results.json').read_text())['test_knn_accuracy']

def run_case(a, seed, noise_dims, work):
    t0 = time.time()
    n_per_class = yaml.safe_load(CONFIG.read_text())['data']['init_args']['n_per_class']
    knn = fit_and_embed(seed, noise_dims, work, [f'--{kv}' for kv in a.set])
    fit_s = time.time() - t0
    spaces = {'embedding': {'test': work/'run'/'predict'/'test.npz', 'train': work/'run'/'embeddings'/'train.npz'},
              **raw_files(work, seed, noise_dims, n_per_class)}
    if a.spaces: spaces = {k: v for k, v in spaces.items() if k in a.spaces}
    res = {}
    for name, files in spaces.items():
        t1 = time.time()
        out = work/f"discover_{name.replace(' ', '_')}"
        extra = ['--fractions', json.dumps(a.fractions)] if a.fractions else []
        sscl('discover', '--config', ROOT/'configs'/'discovery'/'synthetic.yaml', '--embeddings', files['test'],
             '--train_embeddings', files['train'], '--output', out, '--progress', 'false', '--seed', seed,
             '--n_null', a.null, '--n_toys', a.toys, *extra, *discover_options(a.discover))
        sw = json.loads((out/'sweep.json').read_text())['tests']
        res[name] = {k: dict(fraction=v['fraction'], median=v['median'], lo=v['lo'], hi=v['hi'],
                             crossing=crossing(v['fraction'], v['median'])) for k, v in sw.items()}
        res[name]['seconds'] = time.time() - t1
    return dict(seed=seed, noise_dims=noise_dims, knn=knn, fit_seconds=fit_s, spaces=res)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[2, 3, 4])
    ap.add_argument('--noise-dims', type=int, nargs='+', default=[1])
    ap.add_argument('--fractions', type=float, nargs='+', default=None)
    ap.add_argument('--spaces', nargs='+', default=None, help='embedding, "raw informative", "raw all dims"')
    ap.add_argument('--null', type=int, default=500)
    ap.add_argument('--toys', type=int, default=30)
    ap.add_argument('--work', default='/tmp/sscl_bench_discovery')
    ap.add_argument('--out', default=None)
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                    help='a training option over configs/synthetic_supcon.yaml (model.temperature=0.01); repeatable')
    ap.add_argument('--discover', action='append', default=[], metavar='KEY=VALUE',
                    help='a discover option over configs/discovery/synthetic.yaml (M=400, tests=[nplm]); repeatable')
    a = ap.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    rows = []
    for seed in a.seeds:
        for nd in a.noise_dims:
            Path(a.work).mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=f'seed{seed}_noise{nd}_', dir=a.work))  # fresh: nothing overwritten
            r = run_case(a, seed, nd, work)
            rows.append(r)
            print(f"seed {seed}, {nd} noise dims: kNN {r['knn']:.3f}, fit {r['fit_seconds']:.0f} s", flush=True)
            for space, tests in r['spaces'].items():
                for test, v in tests.items():
                    if test == 'seconds': continue
                    cross = f"{100 * v['crossing']:.2f}%" if v['crossing'] is not None else 'never'
                    print(f"  {space:16s} {test:12s} Z=3 at {cross:7s} median Z " +
                          ' '.join(f'{z:.1f}' for z in v['median']), flush=True)
            if a.out: Path(a.out).write_text(json.dumps(dict(args=vars(a), rows=rows), indent=1))

if __name__ == '__main__':
    main()
