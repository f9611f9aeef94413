"""The ablation that chose the few-labels recipe of configs/digits_fewlabels.yaml, one change at a time.

Each step trains SimCLR on the digits training split of a seed (plain PyTorch loop around sscl's own encoder,
loss and `DigitsBatchAugment`: the same pieces `sscl fit` trains, without Lightning's per-step overhead) and
reports the test accuracy of logistic regression from one label per class (`sscl.semisup.label_test`, 'logreg'),
averaged over 20 draws of the ten labels. The steps start from the README's digits_simclr.yaml recipe and add
one change each. Run on the tuning seeds only (0-2): these are the numbers the choices were made on.

    python bench/ablate_digits.py --seeds 0 1 2
"""
import argparse, json, time
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F

STEPS = {  # name: settings changed from the step before
    'README recipe (affine + noise, tau 0.1, 100 epochs, 32-64 channels)':
        dict(elastic=0, thickness=0, erase=0, tau=0.1, epochs=100, channels=[32, 64]),
    '+ elastic jitter, stroke thickness, erasing': dict(elastic=0.5, thickness=0.3, erase=0.5),
    '+ temperature 0.5': dict(tau=0.5),
    '+ 300 epochs': dict(epochs=300),
    '+ 32-64-128 channels (the recipe)': dict(channels=[32, 64, 128]),
}

def run(seed:int, s:dict, draws:int=20) -> float:
    from sscl.augment import DigitsBatchAugment
    from sscl.encoders import SmallCNN, MLP
    from sscl.losses import SupConLoss
    from sscl.pairs import DigitsDataModule, few_labels
    from sscl.semisup import label_test
    torch.manual_seed(seed)
    dm = DigitsDataModule(seed=seed)
    dm.setup()
    xtr, ytr = dm.source.x[dm.splits['train']], dm.source.y[dm.splits['train']]  # [N, 1, 8, 8], [N]
    xte, yte = dm.source.x[dm.splits['test']], dm.source.y[dm.splits['test']].numpy()
    enc, proj = SmallCNN(1, 8, s['channels'], [64]), MLP(8, [64], 32)
    aug = DigitsBatchAugment(elastic=s['elastic'], thickness=s['thickness'], erase=s['erase'])
    opt = torch.optim.AdamW([*enc.parameters(), *proj.parameters()], lr=3e-3, weight_decay=1e-4)
    bs, n = 128, len(xtr)
    total = s['epochs'] * (n // bs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1, (i + 1) / 20) * 0.5 * (1 + np.cos(np.pi * i / total)))
    loss_fn = SupConLoss(s['tau'])
    for _ in range(s['epochs']):
        perm = torch.randperm(n)
        for b in range(n // bs):
            xb = xtr[perm[b * bs:(b + 1) * bs]]
            z = F.normalize(proj(enc(torch.cat([aug(xb), aug(xb)]))), dim=1).reshape(2, bs, -1).transpose(0, 1)
            loss = loss_fn(z, torch.full((bs,), -1))  # z [B, 2, 32]
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    enc.eval()
    with torch.no_grad(): htr, hte = enc(xtr).numpy(), enc(xte).numpy()
    accs = []
    for d in range(draws):
        known = few_labels(ytr, per_class=1, seed=seed + 2 + 1000 * d).numpy()
        accs.append((label_test(htr, known, hte, 'logreg') == yte).mean())
    return float(np.mean(accs))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--save', default=str(Path(__file__).parent/'results'/'ablation_digits.json'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    s, res = {}, {}
    print('| step | ' + ' | '.join(f'seed {x}' for x in a.seeds) + ' | mean | seconds per seed |')
    print('|---' * (len(a.seeds) + 3) + '|')
    for name, change in STEPS.items():
        s = {**s, **change}
        t0 = time.time()
        accs = [run(seed, s) for seed in a.seeds]
        res[name] = {'settings': dict(s), 'accuracy': accs}
        print(f'| {name} | ' + ' | '.join(f'{x:.3f}' for x in accs) +
              f' | {np.mean(accs):.3f} | {(time.time() - t0) / len(a.seeds):.0f} |', flush=True)
    Path(a.save).parent.mkdir(parents=True, exist_ok=True)
    Path(a.save).write_text(json.dumps({'seeds': a.seeds, 'steps': res}, indent=1))

if __name__ == '__main__': main()
