"""Two gloo processes, each streaming JetClass-format files through `JetClassDataModule(streaming=True)` with two
DataLoader workers: four readers. Run by test_jets.py with the data folder as argument; prints one JSON line with
the (file-and-entry) indices each rank read."""
import json, os, sys
import torch, torch.distributed as dist, torch.multiprocessing as mp


def rank_main(rank, world, port, root, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    from sscl.jets import JetClassDataModule
    dm = JetClassDataModule(root=root, classes=['qcd', 'wqq', 'hbb'], streaming=True, mode='labels', batch_size=2,
                            num_workers=2, chunk_size=4, shuffle_buffer=5, max_jets_per_class=2)
    dm.setup()
    mine = [i for b in dm.train_dataloader() for i in b['idx'].tolist()]
    every = [None] * world
    dist.all_gather_object(every, mine)
    if rank == 0: out.put(every)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    ctx = mp.get_context('spawn')
    q = ctx.Queue()
    port = 29500 + os.getpid() % 1000
    procs = [ctx.Process(target=rank_main, args=(r, 2, port, sys.argv[1], q)) for r in range(2)]
    for p in procs: p.start()
    res = q.get(timeout=240)
    for p in procs: p.join()
    print(json.dumps(res))
