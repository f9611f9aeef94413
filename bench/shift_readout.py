"""Other read-outs of finished shifted-digits pipelines: does anything beside the source-label read-out help?

`bench/semisup_shift.py` leaves one pipeline directory per seed (`<out>/seed<S>/main`). For each of its rounds this
loads the round's best checkpoint (`weights_only=True`) and labels the target test images five ways, all without a
target label:
- `clean`: logistic regression on the embedding of the clean labelled source training images (the pipeline's own
  read-out; its numbers must match the pipeline's report, which the script checks);
- `measured`: the same fitted on the source training images passed through the target's fitted measurement (five
  noise draws each), so that the read-out sees target-like images;
- `clean + measured`: fitted on both;
- `+ measurement model`: the clean read-out's class probabilities multiplied by those of the raw-pixel measurement
  model (`sscl.pipeline.measured_probs`): does the embedding add anything to the best pixel model?
- `ensemble`: the clean read-out's probabilities averaged over every round of the pipeline.
It also scores each round on the source images of the validation split, which no round trains on: the one labelled
hold-out that a label-free selection could use in place of the cross-validated accuracy on training embeddings.

    python bench/shift_readout.py --runs runs/bench_semisup_shift --seeds 0 1 [--out results.json]
"""
import argparse, json, sys
from pathlib import Path
import numpy as np, torch, yaml

ROUNDS = ('round1', 'round2', 'round2_adapted', 'round2_coral03', 'round2_mmd03', 'round2_disco03')

def load_round(cfg:dict, run:Path):
    "The round's model with the weights of its best checkpoint (the one its embeddings came from)."
    from jsonargparse import ArgumentParser
    from sscl.io import load_checkpoint
    from sscl.model import SimCLRModel
    p = ArgumentParser(exit_on_error=False)
    p.add_class_arguments(SimCLRModel, 'model')
    model = p.instantiate_classes(p.parse_object({'model': cfg['model']})).model
    ckpts = sorted(c for c in (run/'checkpoints').glob('*.ckpt') if c.name != 'last.ckpt')
    if len(ckpts) != 1: raise RuntimeError(f'{run}: expected one best checkpoint, found {[c.name for c in ckpts]}')
    model.load_state_dict(load_checkpoint(ckpts[0])['state_dict'])
    return model.eval()

@torch.no_grad()
def embed(model, x:torch.Tensor) -> np.ndarray:
    "[N, d] embedding of images [N, C, H, W] (`sscl.evaluate.embed` over a plain loader)."
    from torch.utils.data import DataLoader, TensorDataset
    from sscl.evaluate import embed as embed_loader
    loader = DataLoader(TensorDataset(x, torch.zeros(len(x))), batch_size=512)  # no labels needed
    return embed_loader(model, loader, progress=False)['h']

def probs(h_fit:np.ndarray, y_fit:np.ndarray, h:np.ndarray, n_cls:int) -> np.ndarray:
    "[N, K] the pipeline's logistic-regression read-out fitted on (h_fit, y_fit), applied to h."
    from sscl.semisup import _logreg_probs
    y = np.concatenate([y_fit, np.full(len(h), -1)])
    return _logreg_probs(np.concatenate([h_fit, h]), y, n_cls)[len(h_fit):]

def seed_table(main:Path, draws:int=5) -> dict:
    "{round: {read-out: target accuracy, ...}} for one pipeline directory, plus the raw measurement model's."
    from sscl.measure import measure
    from sscl.pipeline import build_datamodule, measure_domains, measured_probs
    report = json.loads((main/'report.json').read_text())['table']
    dm, out, ens = None, {}, []
    for name in ROUNDS:
        cfg = yaml.safe_load((main/f'{name}.yaml').read_text())
        if dm is None:
            dm = build_datamodule(cfg)
            tr, va, te = dm.splits['train'], dm.splits['val'], dm.splits['test']
            dom, y = dm.source.domain.numpy(), dm.source.y.numpy()
            src, vsrc = tr[dom[tr] == 0], va[dom[va] == 0]  # source training and validation indices
            xt, yt = dm.test_source.x[te], dm.test_source.y[te].numpy()  # [N_test, 1, 8, 8], [N_test]
            tgt = dm.test_source.domain[te].numpy() == 1  # [N_test]
            f = dm.measurement  # the target's measurement, fitted without its labels
            g = torch.Generator().manual_seed(0)
            x_meas = torch.cat([measure(dm.source.x[src], f['contrast'], f['blur'], f['noise'], g) for _ in range(draws)])
            pm = measured_probs(dm, xt, dm.test_source.domain[te].numpy(), measure_domains(dm))  # [N_test, K]
            k = pm.shape[1]
        model = load_round(cfg, main/name)
        hc, hm, ht = embed(model, dm.source.x[src]), embed(model, x_meas), embed(model, xt)
        ys, ym = y[src], np.tile(y[src], draws)
        p = {'clean': probs(hc, ys, ht, k), 'measured': probs(hm, ym, ht, k),
             'clean + measured': probs(np.concatenate([hc, hm]), np.concatenate([ys, ym]), ht, k)}
        p['+ measurement model'] = np.exp(np.log(p['clean'] + 1e-12) + np.log(pm + 1e-300))
        ens.append(p['clean'])
        acc = {r: float((q.argmax(1) == yt)[tgt].mean()) for r, q in p.items()}
        if abs(acc['clean'] - report[name]['accuracy_domain1']) > 1e-9:
            raise RuntimeError(f'{main}/{name}: the clean read-out gives {acc["clean"]:.4f}, the report '
                               f'{report[name]["accuracy_domain1"]:.4f}: not the same embedding')
        pv = probs(hc, ys, embed(model, dm.source.x[vsrc]), k).argmax(1)
        acc['source validation'] = float((pv == y[vsrc]).mean())
        acc['source test'] = report[name]['accuracy_domain0']
        out[name] = acc
    out['ensemble of the rounds'] = {'clean': float((np.mean(ens, 0).argmax(1) == yt)[tgt].mean())}
    out['raw measurement model'] = {'clean': float((pm.argmax(1) == yt)[tgt].mean())}
    out['sizes'] = {'source validation': len(vsrc), 'target test': int(tgt.sum())}
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runs', required=True, help="bench/semisup_shift.py's --out")
    ap.add_argument('--seeds', type=int, nargs='+', required=True)
    ap.add_argument('--out', help='write the numbers here as JSON')
    a = ap.parse_args()
    torch.set_num_threads(1)
    res = {s: seed_table(Path(a.runs)/f'seed{s}'/'main') for s in a.seeds}
    cols = ('clean', 'measured', 'clean + measured', '+ measurement model', 'source validation', 'source test')
    print(f'target test accuracy by read-out (seeds {a.seeds}); the last two columns are source accuracies\n')
    print('| seed | round | ' + ' | '.join(cols) + ' |')
    print('|---' * (len(cols) + 2) + '|')
    for s, r in res.items():
        for name in ROUNDS:
            print(f'| {s} | {name} | ' + ' | '.join(f'{r[name][c]:.3f}' for c in cols) + ' |')
        for name in ('ensemble of the rounds', 'raw measurement model'):
            print(f'| {s} | {name} | {r[name]["clean"]:.3f} |' + ' |' * (len(cols) - 1))
    print('\nmean over seeds and rounds: ' + ', '.join(
        f'{c} {np.mean([r[n][c] for r in res.values() for n in ROUNDS]):.3f}' for c in cols))
    if a.out: Path(a.out).write_text(json.dumps(res, indent=1))

if __name__ == '__main__': sys.exit(main())
