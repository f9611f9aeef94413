"""Domain adaptation on shifted digits: every adaptation method against raw pixels, source-only and the oracle.

Per seed (the seed sets the split, which half of the digits is the shifted target, and the training) four
pipelines run from `configs/digits_shift_pipeline.yaml`:
- the pipeline itself: round 1 (SupCon on the labelled source seen clean and measured, the target as -1),
  target pseudo-labels, round 2, and copies of round 2 with each adaptation method; its label-free pick;
- `source only`: round 1 trained on the source alone (it never sees a target image, nor a measured view);
- `without measured views`: round 1 with the target as -1 but the source seen clean only (no measurement model);
- `oracle`: round 1 trained and scored with the target's labels too: the ceiling for this network and recipe.
Every other accuracy labels the test images from the source labels only (the config's `evaluate` vote).

    python bench/semisup_shift.py --seeds 0 1 2 [--jobs 2] [--cases oracle]
"""
import argparse, json, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np, yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT/'configs'/'digits_shift_pipeline.yaml'
# the single-round comparisons: overrides of the pipeline config
CASES = {
    'source only': {'cycles': 0, 'round1': {'data.init_args.train_domains': [0], 'data.init_args.measured_views': None}},
    'without measured views': {'cycles': 0, 'round1': {'data.init_args.measured_views': None}},
    'oracle': {'cycles': 0, 'labels': {'label_fraction': 1.0, 'labeled_domains': None}},
}

def _pipeline_config(seed:int, work:Path, case:str|None) -> Path:
    "The pipeline config of one seed and case, written into work/."
    p = yaml.safe_load(CONFIG.read_text())
    base = yaml.safe_load((CONFIG.parent/p['base']).read_text())  # an absolute base path stays as it is
    base['seed_everything'] = seed
    base['trainer']['enable_progress_bar'] = False
    (work/'base.yaml').write_text(yaml.safe_dump(base))
    for r in ('round1', 'round2'): p[r]['data.init_args']['seed'] = seed
    name = 'main' if case is None else case.replace(' ', '_')
    if case is not None:  # round 1 alone
        over = CASES[case]
        p['round1'] = {**p['round1'], **over.get('round1', {})}
        p.update({k: v for k, v in over.items() if k != 'round1'})
        for k in ('adaptation', 'variants', 'round2', 'pseudo_label'): p.pop(k, None)
    p.update(dir=str(work/name), base='base.yaml')
    f = work/f'{name}.yaml'
    f.write_text(yaml.safe_dump(p, sort_keys=False))
    return f

def run_case(seed:int, out:Path, case:str|None) -> dict:
    "The report of one pipeline (run unless it finished earlier)."
    work = out/f'seed{seed}'
    work.mkdir(parents=True, exist_ok=True)
    cfg = _pipeline_config(seed, work, case)
    run = work/cfg.stem
    if not (run/'report.json').exists():
        args = [sys.executable, '-m', 'sscl', 'pipeline', '--config', str(cfg)] + ['--resume'] * run.exists()
        t0 = time.time()
        r = subprocess.run(args, capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
        if r.returncode: raise RuntimeError(f'seed {seed} {case or "pipeline"} failed:\n{r.stderr[-3000:]}')
        print(f'seed {seed} {case or "pipeline"}: {time.time() - t0:.0f} s', flush=True)
    return json.loads((run/'report.json').read_text())

def raw_oracle(cfg:Path) -> dict:
    "An RBF SVM on raw pixels trained on each domain's own training labels, tested on that domain: a pixel ceiling."
    from sklearn.svm import SVC
    from sscl.pipeline import build_datamodule, plan_pipeline
    dm = build_datamodule(plan_pipeline(cfg).rounds[0].config)
    tr, te = dm.splits['train'], dm.splits['test']
    x, y, d = dm.source.x.flatten(1).numpy(), dm.source.y.numpy(), dm.source.domain.numpy()
    acc = {}
    for k in (0, 1):
        a, b = tr.numpy()[d[tr] == k], te.numpy()[d[te] == k]
        acc[f'accuracy_domain{k}'] = float((SVC(C=10).fit(x[a], y[a]).predict(x[b]) == y[b]).mean())
    return acc

def run_seed(seed:int, out:Path, cases=tuple(CASES)) -> dict:
    "One seed's rows: step -> {source, target, ...}, and the pick and pseudo-label precision."
    main = run_case(seed, out, None)
    rows = {k: v for k, v in main['table'].items()}
    rows['raw SVM, each domain its own labels (oracle)'] = raw_oracle(out/f'seed{seed}'/'main.yaml')
    for case in cases: rows[f'round1, {case}'] = run_case(seed, out, case)['table']['round1']
    pick = main['label_free_pick']
    rows['label-free pick'] = {**rows[pick], 'picked': pick}
    return {'rows': rows, 'pick': pick, 'pseudo_labels': main['pseudo_labels']}

def main():
    global CONFIG
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--jobs', type=int, default=2, help='seeds run at once (one core each)')
    ap.add_argument('--out', default='runs/bench_semisup_shift')
    ap.add_argument('--config', default=str(ROOT/'configs'/'digits_shift_pipeline.yaml'), help='the pipeline config')
    ap.add_argument('--cases', nargs='*', default=list(CASES), choices=list(CASES),
                    help='the single-round comparisons to run beside the pipeline (default: all)')
    a = ap.parse_args()
    CONFIG = Path(a.config).resolve()
    out, t0 = Path(a.out), time.time()
    with ThreadPoolExecutor(a.jobs) as ex: res = list(ex.map(lambda s: run_seed(s, out, a.cases), a.seeds))
    print(f'\n{CONFIG.stem}, test accuracy from the source labels only (the oracle: with the target labels too); '
          f'mean ± sd over seeds {a.seeds} ({time.time() - t0:.0f} s)\n')
    print('| step | source | target | both, k-means vote | domain AUC |')
    print('|---|---|---|---|---|')
    ms = lambda v: f'{np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.3f}'
    for step in res[0]['rows']:
        rs = [r['rows'][step] for r in res]
        cells = [ms([x[c] for x in rs]) for c in ('accuracy_domain0', 'accuracy_domain1')]
        cells.append(ms([x['also_accuracy'] for x in rs]) if 'also_accuracy' in rs[0] else '')
        cells.append(ms([x['domain_auc'] for x in rs]) if 'domain_auc' in rs[0] else '')
        print(f'| {step} | ' + ' | '.join(cells) + ' |')
    raw = [k for k in res[0]['rows'] if k.startswith('raw') and 'oracle' not in k]
    print('\nper seed, target accuracy: label-free pick (which) against the best raw baseline; source accuracy')
    for s, r in zip(a.seeds, res):
        best = max(raw, key=lambda k: r['rows'][k]['accuracy_domain1'])
        p = r['rows']['label-free pick']
        cands = {k: v['accuracy_domain1'] for k, v in r['rows'].items() if 'domain_auc' in v and k not in ('round1', 'label-free pick')}
        top = max(cands, key=cands.get)
        print(f'  seed {s}: {p["accuracy_domain1"]:.3f} ({r["pick"]}) vs {best} {r["rows"][best]["accuracy_domain1"]:.3f}'
              f'; best candidate {top} {cands[top]:.3f} (the pick gives up {cands[top] - p["accuracy_domain1"]:.3f})'
              f'; source {p["accuracy_domain0"]:.3f}; pseudo-labels '
              + ', '.join(f'{v["kept"]} kept, {v["accuracy_kept"]:.3f} right' for v in r['pseudo_labels'].values()))
    (out/'results.json').write_text(json.dumps({'seeds': a.seeds, 'results': res}, indent=1))

if __name__ == '__main__': main()
