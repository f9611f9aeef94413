"""The paper's jet experiment on Pythia 8 + FastJet jets, through the commands a user runs: `sscl jets generate`
(configs/jets/pythia_generate.yaml: 20,000 jets per class, half for testing), `sscl fit` (configs/jets/pythia_supcon.yaml:
a small Particle Transformer into a 4-dim SupCon embedding of QCD, W, Z and top jets; H->bb held out), `sscl predict`
(the test jets) and `sscl discover` (configs/discovery/jets_pythia.yaml: H->bb injected at growing fractions into
N_D = 10,000 data jets against N_R = 20,000 reference jets). In the same run, the same tests on the naive alternative
a physicist would use: four standard jet observables of the same test jets (soft-drop mass, tau21, tau32, particle
multiplicity), read from the ROOT files. Prints kNN accuracy on the known classes, the median Z per fraction and
where it crosses 3, and the times of generation, training and discovery.

usage: python bench/jets_pythia.py --seed 1 [--epochs 20] [--null 200] [--toys 20] [--out bench/results/NAME.json]
       python bench/jets_pythia.py --toy --seed 1 (the toy jets of sscl.pairs, 3-prong jets held out, for comparison)"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np, yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
from discovery_synthetic import crossing, sscl  # noqa: E402  (the same command runner and Z = 3 crossing)


def observables(root, split, classes, cap):
    "[N, 4] soft-drop mass, tau21, tau32, multiplicity of the jets `read_jetclass` reads, in its order."
    import uproot
    from sscl.jets import jetclass_files
    rows = []
    for c, files in jetclass_files(root, split, classes).items():
        got = []
        for f in files:
            a = uproot.open(f)['tree'].arrays(['jet_sdmass', 'jet_tau1', 'jet_tau2', 'jet_tau3', 'jet_nparticles'],
                                              library='np')
            got.append(np.stack([a['jet_sdmass'], a['jet_tau2'] / np.maximum(a['jet_tau1'], 1e-9),
                                 a['jet_tau3'] / np.maximum(a['jet_tau2'], 1e-9), a['jet_nparticles']], 1))
        rows.append(np.concatenate(got)[:cap])
    return np.concatenate(rows).astype(np.float32)


def knn_tables(work:Path, classes:list[str]) -> dict:
    "kNN (k = 10, neighbours from the training jets) recall per known class in both spaces, and where H->bb lands."
    from sklearn.neighbors import KNeighborsClassifier
    out = {}
    files = {'ParT embedding': (work/'run'/'embeddings'/'train.npz', work/'run'/'predict'/'test.npz'),
             'jet observables': (work/'observables_train.npz', work/'observables_test.npz')}
    for name, (tr, te) in files.items():
        tr, te = np.load(tr), np.load(te)
        mu, sd = tr['h'].mean(0), tr['h'].std(0)  # standardised by the training jets (observables differ in scale)
        knn = KNeighborsClassifier(10).fit((tr['h'] - mu) / sd, tr['y'])
        known = np.isin(te['y'], np.unique(tr['y']))
        pred = knn.predict((te['h'] - mu) / sd)
        recall = {classes[c]: float((pred[te['y'] == c] == c).mean()) for c in np.unique(tr['y'])}
        lands = {classes[c]: float((pred[~known] == c).mean()) for c in np.unique(tr['y'])}
        out[name] = dict(accuracy=float((pred[known] == te['y'][known]).mean()), recall=recall, held_out_lands=lands)
    return out


def toy(a):
    "The same training and discovery on the toy jets (sscl.pairs.simulate_jets), 3-prong jets held out."
    work = Path(a.work)/f'toy_seed{a.seed}'
    t = time.time()
    run = work/'run'
    sscl('fit', '--config', ROOT/'configs'/'toyjets_supcon.yaml', '--data.init_args.n_per_class', 32000,
         '--data.init_args.exclude_classes', '[2]', '--data.init_args.test_fraction', 0.5,
         '--data.init_args.sim_seed', a.seed, '--seed_everything', a.seed, '--trainer.default_root_dir', run,
         '--trainer.max_epochs', a.epochs,
         '--trainer.enable_progress_bar', 'false', *(['--overwrite'] if run.exists() else []))
    fit_s = time.time() - t
    sscl('predict', '--config', run/'config.yaml', '--ckpt_path', run/'checkpoints'/'last.ckpt',
         '--trainer.enable_progress_bar', 'false')
    d = work/'discover'
    sscl('discover', '--config', ROOT/'configs'/'discovery'/'jets_pythia.yaml', '--embeddings', run/'predict'/'test.npz',
         '--train_embeddings', run/'embeddings'/'train.npz', '--signal_classes', '[2]', '--output', d,
         '--progress', 'false', '--seed', a.seed, '--n_null', a.null, '--n_toys', a.toys, '--overwrite')
    sw = json.loads((d/'sweep.json').read_text())['tests']
    out = dict(seed=a.seed, fit_seconds=fit_s, knn=json.loads((run/'results.json').read_text())['test_knn_accuracy'],
               tests={k: dict(fraction=v['fraction'], median=v['median'], lo=v['lo'], hi=v['hi'],
                              crossing=crossing(v['fraction'], v['median'])) for k, v in sw.items()})
    print(f"toy jets seed {a.seed}: training {a.epochs} epochs {fit_s:.0f} s, kNN (known classes) {out['knn']}")
    for test, v in out['tests'].items():
        zs = ', '.join(f'{f:.1%}: {m:.2f}' for f, m in zip(v['fraction'], v['median']))
        print(f"{test:12s} Z=3 at {'never' if v['crossing'] is None else format(v['crossing'], '.2%')} | {zs}")
    if a.out: Path(a.out).write_text(json.dumps(out, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int, default=1, help='generation and training seed')
    ap.add_argument('--data', default=None, help='generated set (default /tmp/sscl_bench_jets/data_seed<seed>)')
    ap.add_argument('--n-per-class', type=int, default=None, help='jets generated per class (default: the config)')
    ap.add_argument('--n-ref', type=int, default=None, help='reference jets (default: the discover config)')
    ap.add_argument('--n-data', type=int, default=None, help='expected data jets (default: the discover config)')
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--null', type=int, default=200)
    ap.add_argument('--toys', type=int, default=20)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--work', default='/tmp/sscl_bench_jets')
    ap.add_argument('--out', default=None)
    ap.add_argument('--tables-only', action='store_true', help='recompute the kNN tables of a finished run into --out')
    ap.add_argument('--toy', action='store_true', help='the toy jets instead (3-prong held out), same sizes and tests')
    a = ap.parse_args()
    if a.toy: return toy(a)
    work = Path(a.work)/f'seed{a.seed}'
    data = Path(a.data or Path(a.work)/f'data_seed{a.seed}')
    cfg = yaml.safe_load((ROOT/'configs'/'jets'/'pythia_supcon.yaml').read_text())['data']['init_args']
    if a.tables_only:
        out = json.loads(Path(a.out).read_text())
        out['knn_tables'] = knn_tables(work, cfg['classes'])
        Path(a.out).write_text(json.dumps(out, indent=1))
        print(json.dumps(out['knn_tables'], indent=1))
        return
    t = time.time()
    sscl('jets', 'generate', '--config', ROOT/'configs'/'jets'/'pythia_generate.yaml', '--root', data, '--seed', a.seed,
         '--workers', a.workers, '--progress', 'false', *(['--n_per_class', a.n_per_class] if a.n_per_class else []))
    gen_s = time.time() - t
    t = time.time()
    run = work/'run'
    sscl('fit', '--config', ROOT/'configs'/'jets'/'pythia_supcon.yaml', '--data.init_args.root', data,
         '--trainer.default_root_dir', run, '--seed_everything', a.seed, '--trainer.max_epochs', a.epochs,
         '--trainer.enable_progress_bar', 'false', *(['--overwrite'] if run.exists() else []))
    fit_s = time.time() - t
    res_fit = json.loads((run/'results.json').read_text())
    sscl('predict', '--config', run/'config.yaml', '--ckpt_path', run/'checkpoints'/'last.ckpt',
         '--trainer.enable_progress_bar', 'false')
    spaces = {'ParT embedding': {'test': run/'predict'/'test.npz', 'train': run/'embeddings'/'train.npz'}}
    for split, src in (('test', spaces['ParT embedding']['test']), ('train', spaces['ParT embedding']['train'])):
        e = np.load(src)
        obs = observables(data, split, cfg['classes'], cfg['max_jets_per_class'])[e['idx']]
        p = work/f'observables_{split}.npz'
        np.savez(p, h=obs, y=e['y'], idx=e['idx'])
        spaces.setdefault('jet observables', {})[split] = p
    out = dict(seed=a.seed, epochs=a.epochs, generation_seconds=gen_s, fit_seconds=fit_s,
               knn=res_fit.get('test_knn_accuracy'), fit_results=res_fit, spaces={})
    for name, files in spaces.items():
        t = time.time()
        d = work/f"discover_{name.replace(' ', '_')}"
        sscl('discover', '--config', ROOT/'configs'/'discovery'/'jets_pythia.yaml', '--embeddings', files['test'],
             '--train_embeddings', files['train'], '--output', d, '--progress', 'false', '--seed', a.seed,
             '--n_null', a.null, '--n_toys', a.toys, '--overwrite', *(['--n_ref', a.n_ref] if a.n_ref else []),
             *(['--n_data', a.n_data] if a.n_data else []))
        sw = json.loads((d/'sweep.json').read_text())['tests']
        out['spaces'][name] = {k: dict(fraction=v['fraction'], median=v['median'], lo=v['lo'], hi=v['hi'],
                                       crossing=crossing(v['fraction'], v['median'])) for k, v in sw.items()}
        out['spaces'][name]['seconds'] = time.time() - t
    out['knn_tables'] = knn_tables(work, cfg['classes'])
    print(f"seed {a.seed}: generation {gen_s:.0f} s, training {a.epochs} epochs {fit_s:.0f} s, "
          f"kNN (known classes) {out['knn']}")
    for name, r in out['spaces'].items():
        for test, v in r.items():
            if test == 'seconds': continue
            zs = ', '.join(f'{f:.1%}: {m:.2f}' for f, m in zip(v['fraction'], v['median']))
            cr = 'never' if v['crossing'] is None else f"{v['crossing']:.2%}"
            print(f'{name:16s} {test:12s} Z=3 at {cr:>7s} | median Z {zs}')
        print(f"{name}: discovery {r['seconds']:.0f} s")
    for name, t in out['knn_tables'].items():
        print(f"{name}: kNN {t['accuracy']:.3f}; recall " + ', '.join(f'{c} {r:.3f}' for c, r in t['recall'].items())
              + '; H->bb lands on ' + ', '.join(f'{c} {r:.0%}' for c, r in t['held_out_lands'].items()))
    if a.out: Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
