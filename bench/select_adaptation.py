"""Choosing the adaptation without target labels: how much target accuracy each label-free rule gives up.

Reads the runs of `bench/semisup_shift.py` (each seed's pipeline: round 2 and its adapted copies) and, for each
candidate round, numbers that use no target label, from its training embedding:
- `source CV`: cross-validated accuracy of the source labels (logistic regression);
- `domain AUC`: how well a cross-validated logistic regression tells the domains apart;
- `agreement`: the share of target training samples on which logistic regression from the source labels and
  constrained k-means seeded by them give the same class (two votes that agree where the classes line up).
Each rule picks one candidate per seed; its regret is the best candidate's target test accuracy minus the pick's.

    python bench/select_adaptation.py --runs runs/bench_semisup_shift --seeds 0 1 2
"""
import argparse, json
from pathlib import Path
import numpy as np
from sscl.semisup import select_label_free

def seed_scores(main:Path) -> dict:
    "candidate -> {target, source_cv, domain_auc, agreement} for one seed's pipeline directory."
    from sscl.pipeline import aligned, build_datamodule, plan_pipeline, _last_copies
    from sscl.semisup import pseudo_label
    plan = plan_pipeline(main.parent/f'{main.name}.yaml')
    dm = build_datamodule(plan.rounds[0].config)
    table = json.loads((main/'report.json').read_text())['table']
    known, tr_idx = dm.known_labels.numpy(), dm.splits['train'].numpy()
    tgt = dm.source.domain[dm.splits['train']].numpy() == 1
    out = {}
    for n in _last_copies(plan):
        h = aligned(main/n/'embeddings'/'train.npz', tr_idx)['h']
        a, b = (pseudo_label(h, known, m, threshold=0.0)['label'] for m in ('logreg', 'kmeans'))
        out[n] = {'target': table[n]['accuracy_domain1'], 'source_cv': table[n]['known_cv'],
                  'domain_auc': table[n]['domain_auc'], 'agreement': float((a[tgt] == b[tgt]).mean())}
    return out

RULES = {
    'no adaptation (round 2)': lambda s: 'round2',
    'lowest domain AUC within 0.01 of the best source CV (the pipeline)': lambda s: select_label_free(s, 0.01),
    'highest vote agreement on the target': lambda s: max(s, key=lambda n: s[n]['agreement']),
}

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runs', default='runs/bench_semisup_shift', help='the --out folder of bench/semisup_shift.py')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--save', default=None, help='write the scores as JSON here')
    a = ap.parse_args()
    scores = {s: seed_scores(Path(a.runs)/f'seed{s}'/'main') for s in a.seeds}
    for s, sc in scores.items():
        print(f'seed {s}: ' + '; '.join(f'{n[7:] or "plain"} {v["target"]:.3f} (auc {v["domain_auc"]:.2f}, '
                                        f'agree {v["agreement"]:.3f})' for n, v in sc.items()))
    print(f'\n| rule | target accuracy of its pick, mean over seeds {a.seeds} | mean regret | worst regret |')
    print('|---|---|---|---|')
    for name, rule in RULES.items():
        got = np.array([sc[rule(sc)]['target'] for sc in scores.values()])
        best = np.array([max(v['target'] for v in sc.values()) for sc in scores.values()])
        print(f'| {name} | {got.mean():.3f} | {(best - got).mean():.3f} | {(best - got).max():.3f} |')
    if a.save: Path(a.save).write_text(json.dumps({'seeds': a.seeds, 'scores': scores}, indent=1))

if __name__ == '__main__': main()
