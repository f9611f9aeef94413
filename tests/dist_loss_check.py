"""Two gloo processes with N samples each against one process with all 2N samples: the loss with
`gather=True` and the gradients that data-parallel training would apply must agree. Run by
test_losses_distributed.py; prints one JSON line of the largest differences per case."""
import json, os, sys
import torch, torch.distributed as dist, torch.multiprocessing as mp
import torch.nn.functional as F

N, V, D = 12, 2, 6
CASES = [dict(labels=False, mode='all'), dict(labels=True, mode='all'), dict(labels=True, mode='one')]

def data(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = F.normalize(torch.randn(2 * N, V, D, generator=g, dtype=torch.float64), dim=-1)
    y = torch.randint(-1, 4, (2 * N,), generator=g)
    return x, y

def rank_main(rank, world, port, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    from sscl.losses import SupConLoss
    x, y = data()
    res = []
    for case in CASES:
        lab = y if case['labels'] else None
        full = x.clone().requires_grad_(True)
        single = SupConLoss(0.2, contrast_mode=case['mode'])(full, lab)
        single.backward()
        mine = x[rank * N:(rank + 1) * N].clone().requires_grad_(True)
        loss = SupConLoss(0.2, contrast_mode=case['mode'], gather=True)(mine, None if lab is None else lab[rank * N:(rank + 1) * N])
        loss.backward()
        mean_loss = loss.detach().clone(); dist.all_reduce(mean_loss); mean_loss /= world
        ddp_grad = mine.grad / world  # what DDP's gradient averaging applies to this process's samples
        res.append(dict(case=case, loss_diff=abs(mean_loss.item() - single.item()), loss=single.item(),
                        grad_diff=(ddp_grad - full.grad[rank * N:(rank + 1) * N]).abs().max().item(),
                        grad_norm=full.grad.norm().item()))
    if rank == 0: out.put(res)
    dist.barrier(); dist.destroy_process_group()

if __name__ == '__main__':
    import socket
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    ctx = mp.get_context('spawn'); q = ctx.Queue()
    procs = [ctx.Process(target=rank_main, args=(r, 2, port, q)) for r in range(2)]
    for p in procs: p.start()
    res = q.get(timeout=120)
    for p in procs: p.join(60)
    print(json.dumps(res))
    sys.exit(max(p.exitcode for p in procs))
