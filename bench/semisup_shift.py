"""Domain adaptation on shifted digits: target accuracy with and without the domain head, over seeds.

Runs `configs/digits_shift_pipeline.yaml` once per seed (the seed sets the split, which half of the digits is the
shifted target, and the training): round 1 SupCon on the labelled source with the target as -1, target
pseudo-labels, round 2 on them, and round 2 again with a domain head behind gradient reversal. Every target
accuracy labels the target test samples from the source labels only (the config's `evaluate` vote).

    python bench/semisup_shift.py --seeds 0 1 2 [--jobs 2]
"""
import argparse, json, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np, yaml

ROOT = Path(__file__).resolve().parent.parent

def run_seed(seed:int, out:Path) -> dict:
    work = out/f'seed{seed}'; work.mkdir(parents=True, exist_ok=True)
    p = yaml.safe_load((ROOT/'configs'/'digits_shift_pipeline.yaml').read_text())
    base = yaml.safe_load((ROOT/'configs'/p['base']).read_text())
    base['seed_everything'] = seed; base['trainer']['enable_progress_bar'] = False
    (work/'base.yaml').write_text(yaml.safe_dump(base))
    for r in ('round1', 'round2'): p[r]['data.init_args']['seed'] = seed
    p.update(dir=str(work/'run'), base='base.yaml'); (work/'pipeline.yaml').write_text(yaml.safe_dump(p))
    if not (work/'run'/'report.json').exists():
        args = [sys.executable, '-m', 'sscl', 'pipeline', '--config', str(work/'pipeline.yaml')] + (['--resume'] if (work/'run').exists() else [])
        t0 = time.time(); r = subprocess.run(args, capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
        if r.returncode: raise RuntimeError(f'seed {seed} failed:\n{r.stderr[-3000:]}')
        print(f'seed {seed}: {time.time() - t0:.0f} s', flush=True)
    return json.loads((work/'run'/'report.json').read_text())['table']

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--jobs', type=int, default=2, help='seeds run at once (one core each)')
    ap.add_argument('--out', default='runs/bench_semisup_shift')
    a = ap.parse_args(); out = Path(a.out); t0 = time.time()
    with ThreadPoolExecutor(a.jobs) as ex: tables = list(ex.map(lambda s: run_seed(s, out), a.seeds))
    print(f'\nshifted digits, accuracy from the source labels only: mean ± sd over seeds {a.seeds} ({time.time() - t0:.0f} s)\n')
    cols = {'all': 'accuracy', 'source': 'accuracy_domain0', 'target': 'accuracy_domain1'}
    print('| step | ' + ' | '.join(cols) + ' |'); print('|---|' + '---|' * len(cols))
    for step in tables[0]:
        cells = [np.array([t[step][c] for t in tables]) for c in cols.values()]
        print(f'| {step} | ' + ' | '.join(f'{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f}' for v in cells) + ' |')
    d = np.array([t['round2_adapted']['accuracy_domain1'] - t['round2']['accuracy_domain1'] for t in tables])
    print(f'\ntarget: adapted minus plain round 2: {d.mean():+.3f} (per seed: {", ".join(f"{x:+.3f}" for x in d)})')
    (out/'results.json').write_text(json.dumps({'seeds': a.seeds, 'tables': tables}, indent=1))

if __name__ == '__main__': main()
