"""One SimCLR training step (forward, backward, optimizer step) on the same ResNet-18 backbone, batch and
augmented views: sscl's `SimCLRModel.training_step`; a lightly-based SimCLR module (lightly's projection head and
`NTXentLoss`, as in lightly's examples); and the bare backbone's forward and backward on the same images (a floor).
Same process, interleaved, medians of --reps steps.
usage: OMP_NUM_THREADS=1 python bench/train_step.py [--batch 32] [--size 64] [--arch resnet18] [--device cpu|cuda]"""
import argparse, os, statistics, time, warnings
import torch, torch.nn as nn, torchvision
from sscl.augment import BatchSimCLRAugment
from sscl.encoders import TorchvisionEncoder
from sscl.model import SimCLRModel

ARCH = 'resnet18'
FEAT = {'resnet18': 512, 'resnet34': 512, 'resnet50': 2048}

def backbone():
    net = getattr(torchvision.models, ARCH)(weights=None); net.fc = nn.Identity(); return net

class LightlySimCLR(nn.Module):
    def __init__(self):
        super().__init__()
        from lightly.loss import NTXentLoss
        from lightly.models.modules import SimCLRProjectionHead
        self.backbone, self.head, self.criterion = backbone(), SimCLRProjectionHead(FEAT[ARCH], 512, 128), NTXentLoss(0.1)
    def training_step(self, batch, _):
        (x0, x1) = batch['views']
        return self.criterion(self.head(self.backbone(x0)), self.head(self.backbone(x1)))

class Bare(nn.Module):
    def __init__(self): super().__init__(); self.backbone = backbone()
    def training_step(self, batch, _): return self.backbone(torch.cat(batch['views'])).sum()

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--batch', type=int, default=32); ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--reps', type=int, default=7); ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--arch', default='resnet18', choices=sorted(FEAT)); ap.add_argument('--channels-last', action='store_true')
    a = ap.parse_args()
    global ARCH; ARCH = a.arch
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1'))); warnings.filterwarnings('ignore')
    torch.manual_seed(0)
    imgs = torch.rand(a.batch, 3, a.size * 9 // 8, a.size * 9 // 8, device=a.device)
    aug = BatchSimCLRAugment(a.size)
    batch = {'views': [aug(imgs), aug(imgs)], 'y': torch.full((a.batch,), -1, device=a.device)}
    ours = SimCLRModel(TorchvisionEncoder(a.arch, embed_dim=128, head_hidden=[512]), projector=nn.Identity(), temperature=0.1)
    models = {'sscl SimCLRModel': ours, 'lightly SimCLR': LightlySimCLR(), 'bare backbone fwd+bwd': Bare()}
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    if a.channels_last: batch['views'] = [v.contiguous(memory_format=fmt) for v in batch['views']]
    opts = {k: torch.optim.SGD(m.to(a.device, memory_format=fmt).parameters(), lr=1e-3) for k, m in models.items()}
    def step(k):
        opts[k].zero_grad(set_to_none=True); loss = models[k].training_step(batch, 0); loss.backward(); opts[k].step()
        if a.device.startswith('cuda'): torch.cuda.synchronize()
    times = {k: [] for k in models}
    for k in models: step(k)
    for _ in range(a.reps):
        for k in models:
            t = time.perf_counter(); step(k); times[k].append(1e3 * (time.perf_counter() - t))
    base = statistics.median(times['bare backbone fwd+bwd'])
    print(f'torch {torch.__version__}, device {a.device}, {torch.get_num_threads()} thread(s), batch {a.batch} x 2 views, '
          f'{a.size} px, {a.arch}, medians of {a.reps}\n\n| implementation | ms per step | images/s | x bare backbone |\n|---|---|---|---|')
    for k in models:
        m = statistics.median(times[k]); print(f'| {k} | {m:.1f} | {2 * a.batch / m * 1e3:.0f} | {m / base:.2f} |')

if __name__ == '__main__':
    main()
