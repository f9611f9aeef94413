"""Reading speed and memory of JetClass-format ROOT files through `JetClassDataModule(streaming=True)`: jets per
second into training batches with 2 DataLoader workers, against a plain single-process loop (uproot chunks ->
`particle_inputs`) over the same files in the same run; and the memory (proportional set size, main process + workers: pages the forked workers share with the main
process counted once) sampled
while a file set far larger than the shuffle buffer streams by (many hard links of a generated set's training files,
so no disk is spent), against what holding those jets' inputs in memory would take.

usage: python bench/jets_read.py --data /tmp/sscl_bench_jets/data_seed1 [--copies 8] [--repeats 3] [--workers 2]"""
import argparse, os, shutil, statistics, sys, tempfile, time
from pathlib import Path
import numpy as np
import psutil
import torch


def tree_rss() -> float:
    "Proportional set size (shared pages split among their users) of this process and its children, GiB."
    me = psutil.Process()
    return sum(p.memory_full_info().pss for p in [me, *me.children(recursive=True)]) / 2 ** 30


def linked_set(src:Path, dst:Path, copies:int) -> int:
    "A JetClass folder under dst whose train_100M/ holds `copies` hard links of each training file; files linked."
    from sscl.jets import JETCLASS_PROCESSES
    n = 0
    for split in ('train_100M', 'val_5M', 'test_20M'): (dst/split).mkdir(parents=True, exist_ok=True)
    for prefix, _ in JETCLASS_PROCESSES.values():
        files = sorted((src/'train_100M').glob(f'{prefix}_*.root'))
        for k in range(copies):
            for j, f in enumerate(files):
                os.link(f, dst/'train_100M'/f'{prefix}_{k * len(files) + j:04d}.root')
                n += 1
        for f in files[:1]:  # a small in-memory sample for setup()
            for split in ('val_5M', 'test_20M'): os.link(f, dst/split/f'{prefix}_000.root')
    return n


def stream(root, classes, workers, max_particles, batch) -> tuple[int, float, list[float]]:
    "(jets, seconds, memory samples) of one epoch of streaming training batches."
    from sscl.jets import JetClassDataModule
    dm = JetClassDataModule(root=str(root), classes=classes, streaming=True, mode='labels', n_views=1,
                            num_workers=workers, batch_size=batch, max_particles=max_particles,
                            max_jets_per_class=200, chunk_size=2500, shuffle_buffer=20000, drop=0.0)
    dm.setup()
    n, mem, t = 0, [tree_rss()], time.perf_counter()
    for i, b in enumerate(dm.train_dataloader()):
        n += len(b['y'])
        if i % 50 == 0: mem.append(tree_rss())
    return n, time.perf_counter() - t, mem


def plain(root, classes, max_particles) -> tuple[int, float]:
    "(jets, seconds) of reading the same files in one process: uproot chunks -> particle_inputs -> tensors."
    from sscl.jets import jetclass_files, iter_chunks, particle_inputs, JETCLASS_PROCESSES
    n, t = 0, time.perf_counter()
    for c, files in jetclass_files(root, 'train', classes).items():
        for f in files:
            for _, a in iter_chunks(f, JETCLASS_PROCESSES[c][1], 2500):
                n += len(torch.from_numpy(particle_inputs(a, max_particles)))
    return n, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', required=True, help='a generated set (sscl jets generate)')
    ap.add_argument('--copies', type=int, default=8)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--max-particles', type=int, default=64)
    ap.add_argument('--batch', type=int, default=256)
    a = ap.parse_args()
    torch.set_num_threads(1)
    classes = ['qcd', 'wqq', 'zqq', 'ttbar', 'hbb']
    with tempfile.TemporaryDirectory(dir=Path(a.data).parent) as d:
        files = linked_set(Path(a.data), Path(d), a.copies)
        runs, peers = [], []
        for _ in range(a.repeats):  # interleaved
            runs.append(stream(d, classes, a.workers, a.max_particles, a.batch))
            peers.append(plain(d, classes, a.max_particles))
        n = runs[0][0]
        rate = statistics.median(r[0] / r[1] for r in runs)
        peer = statistics.median(p[0] / p[1] for p in peers)
        mem = runs[0][2]
        held = n * a.max_particles * 21 * 4 / 2 ** 30
        print(f'{files} files, {n} jets per epoch, {a.max_particles} particles x 21 inputs, {os.cpu_count()} cores')
        print(f'| reader | jets/s (median of {a.repeats}) | x plain |')
        print('|---|---|---|')
        print(f'| JetClassDataModule streaming, {a.workers} workers, batches of {a.batch} | {rate:,.0f} | '
              f'{rate / peer:.2f} |')
        print(f'| plain loop, one process (uproot -> particle_inputs) | {peer:,.0f} | 1.00 |')
        q = [mem[int(round(f * (len(mem) - 1)))] for f in (0, 0.25, 0.5, 0.75, 1.0)]
        print('memory (PSS, GiB, main + workers) at 0/25/50/75/100% of the epoch: ' +
              ', '.join(f'{m:.2f}' for m in q) + f'; max {max(mem):.2f}')
        print(f'the same jets held in memory as float32 inputs: {held:.2f} GiB')


if __name__ == '__main__':
    main()
