"""Pairs of SimCLR views per second: torchvision's per-image pipeline (`simclr_augment`, what DataLoader workers
run) against the batched path (`BatchSimCLRAugment`, one call per batch on the batch's device), at 32 and 224
pixels, interleaved in one run, medians of --reps batches. usage: OMP_NUM_THREADS=1 python bench/augment.py"""
import argparse, os, statistics, time
import torch
from PIL import Image
from torchvision.transforms import v2 as T
from sscl.augment import BatchSimCLRAugment, Views, simclr_augment

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--reps', type=int, default=7)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    print(f'torch {torch.__version__}, {torch.get_num_threads()} thread(s), batched path on {a.device}, batch {a.batch}, '
          f'medians of {a.reps}\n')
    print('| size | per-image pairs/s | batched pairs/s | batched / per-image |\n|---|---|---|---|')
    for size in (32, 224):
        src = (torch.rand(a.batch, 3, size * 5 // 4, size * 5 // 4) * 255).byte()
        pil = [Image.fromarray(x.permute(1, 2, 0).numpy()) for x in src]
        per, bat = Views(simclr_augment(size, blur=size > 32), 2), BatchSimCLRAugment(size, blur=size > 32).to(a.device)
        dev = src.to(a.device)
        def run_per(): return [per(p) for p in pil]
        def run_bat():
            out = (bat(dev), bat(dev))
            if a.device.startswith('cuda'): torch.cuda.synchronize()
            return out
        tp, tb = [], []
        run_per(); run_bat()
        for _ in range(a.reps):
            t = time.perf_counter(); run_per(); tp.append(time.perf_counter() - t)
            t = time.perf_counter(); run_bat(); tb.append(time.perf_counter() - t)
        p, b = a.batch / statistics.median(tp), a.batch / statistics.median(tb)
        print(f'| {size} | {p:.0f} | {b:.0f} | {b / p:.1f} |', flush=True)

if __name__ == '__main__':
    main()
