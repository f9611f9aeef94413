"`sscl slurm submit` on a real one-node SLURM started by the tests: DDP over two CPU tasks, requeue on SIGUSR1, array sweeps."
import os, subprocess, sys, time
from pathlib import Path
import pytest, yaml, torch
from helpers import ROOT, sscl
from slurm_cluster import LocalSlurm, why_not
from conftest import tool_missing

STEPS_PER_EPOCH = 10  # 1,295 digits training samples, 2 ranks of 64 with drop_last: 647 // 64

@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    reason = why_not()
    if reason: tool_missing(reason)
    c = LocalSlurm(tmp_path_factory.mktemp('slurm')).start()
    yield c
    c.stop()

def _settings(path:Path) -> Path:
    "A CPU partition (gpus_per_node 0: --gpus N means N processes) that is preemptible, with this Python on PATH."
    path.write_text(yaml.safe_dump({'cluster': 'local', 'setup': f'export PATH={Path(sys.executable).parent}:$PATH',
        'defaults': {'partition': 'debug', 'time': '00:20:00', 'cpus_per_task': 1, 'mem_per_task': '1G', 'signal_seconds': 30},
        'partitions': {'debug': {'gpus_per_node': 0, 'max_time': '01:00:00', 'preemptible': True}}}))
    return path

def _config(path:Path, run:Path, epochs:int) -> Path:
    c = yaml.safe_load((ROOT/'configs'/'digits_simclr.yaml').read_text())
    c['trainer'].update(max_epochs=epochs, default_root_dir=str(run), enable_progress_bar=False, log_every_n_steps=1)
    c['data']['init_args']['batch_size'] = 64
    path.write_text(yaml.safe_dump(c)); return path

def _submit(cluster, *args):
    r = sscl('slurm', 'submit', *args, env=cluster.env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.split('submitted job ')[1].split(':')[0]

def _log(run:Path) -> str: return ''.join(p.read_text() for p in sorted(run.glob('slurm-*')))

def _step(ckpt:Path) -> int: return torch.load(ckpt, map_location='cpu', weights_only=False)['global_step']

def test_ddp_two_tasks(cluster, tmp_path):
    run = tmp_path/'run'
    job = _submit(cluster, '--config', _config(tmp_path/'c.yaml', run, 2), '--gpus', '2', '--settings', _settings(tmp_path/'s.yaml'))
    rec = cluster.wait(job, 400)[0]
    assert rec['JobState'] == 'COMPLETED', (rec, _log(run)[-3000:])
    log = _log(run)
    assert 'GLOBAL_RANK: 0, MEMBER: 1/2' in log and 'GLOBAL_RANK: 1, MEMBER: 2/2' in log
    for f in ('checkpoints/last.ckpt', 'metrics.csv', 'embeddings/train.npz', 'embeddings/test.npz', 'results.json'): assert (run/f).exists(), f
    assert _step(run/'checkpoints'/'last.ckpt') == 2 * STEPS_PER_EPOCH  # each rank saw half the data per epoch
    import csv
    sizes = {float(r['train/contrast_size']) for r in csv.DictReader(open(run/'metrics.csv')) if r.get('train/contrast_size')}
    assert sizes == {2 * 64 * 2}, sizes  # min over ranks of the views each contrasted with: both ranks' batches, two views each

    # the script agrees with what the trainer ran (LightningCLI's saved config.yaml)
    script, used = (run/'submit.sbatch').read_text(), yaml.safe_load((run/'config.yaml').read_text())['trainer']
    assert f"#SBATCH --ntasks-per-node={used['devices']} " in script and f"#SBATCH --nodes={used['num_nodes']} " in script
    assert used['default_root_dir'] == str(run) and f'#SBATCH --output={run}/slurm-%j.out' in script
    assert '#SBATCH --requeue' in script and '#SBATCH --signal=SIGUSR1@30' in script and '--gres' not in script

def test_requeue_on_sigusr1(cluster, tmp_path):
    run, epochs = tmp_path/'run', 25
    job = _submit(cluster, '--config', _config(tmp_path/'c.yaml', run, epochs), '--gpus', '2', '--settings', _settings(tmp_path/'s.yaml'))
    t0 = time.time()
    while not list((run/'checkpoints').glob('epoch*.ckpt')):  # wait until it has trained a whole epoch
        assert time.time() - t0 < 300 and cluster.job(job)[0]['JobState'] in ('PENDING', 'RUNNING'), _log(run)[-3000:]
        time.sleep(0.5)
    subprocess.run(['scancel', '-s', 'USR1', job], env=cluster.env, check=True)
    rec = cluster.wait(job, 500)[0]
    log = _log(run)
    assert rec['JobState'] == 'COMPLETED' and rec['Restarts'] == '1', (rec, log[-3000:])
    hpc = run/'hpc_ckpt_1.ckpt'
    assert hpc.exists() and 0 < _step(hpc) < epochs * STEPS_PER_EPOCH, log[-3000:]
    assert f'Restoring states from the checkpoint path at {hpc}' in log  # the second start continued from it
    assert _step(run/'checkpoints'/'last.ckpt') == epochs * STEPS_PER_EPOCH
    import csv  # one metrics history across both starts
    epochs_logged = [int(r['epoch']) for r in csv.DictReader(open(run/'metrics.csv')) if r.get('train/loss_epoch')]
    assert epochs_logged == list(range(epochs)), epochs_logged

def test_sweep_array(cluster, tmp_path):
    run = tmp_path/'sweep'
    job = _submit(cluster, '--config', _config(tmp_path/'c.yaml', run, 1), '--settings', _settings(tmp_path/'s.yaml'),
                  '--sweep', 'model.temperature=0.05,0.1,0.2')
    recs = cluster.wait(job, 500)
    assert len(recs) == 3 and all(r['JobState'] == 'COMPLETED' for r in recs), [r['JobState'] for r in recs]
    temps = [yaml.safe_load((run/str(i)/'config.yaml').read_text())['model']['temperature'] for i in range(3)]
    assert temps == [0.05, 0.1, 0.2]
    for i in range(3): assert (run/str(i)/'results.json').exists() and list((run/str(i)).glob('slurm-*_*.out'))
    assert (run/'sweep.tsv').read_text().splitlines() == ['task\tmodel.temperature', '0\t0.05', '1\t0.1', '2\t0.2']

def test_bad_requests_submit_nothing(tmp_path):
    cfg, s = _config(tmp_path/'c.yaml', tmp_path/'run', 1), _settings(tmp_path/'s.yaml')
    r = sscl('slurm', 'submit', '--config', cfg, '--settings', s, '--partition', 'gpu')
    assert r.returncode == 1 and "partition 'gpu' is not in" in r.stderr
    four = yaml.safe_load(cfg.read_text()); four['trainer']['devices'] = 4; (tmp_path/'four.yaml').write_text(yaml.safe_dump(four))
    r = sscl('slurm', 'submit', '--config', tmp_path/'four.yaml', '--settings', s, '--gpus', '2')
    assert r.returncode == 1 and 'trainer.devices=4 but --gpus 2' in r.stderr
    r = sscl('slurm', 'submit', '--config', cfg, '--settings', s, '--sweep', 'model.tempreature=0.1,0.2')
    assert r.returncode == 1 and 'tempreature' in r.stderr
    r = sscl('slurm', 'submit', '--config', cfg, '--settings', s, env={'PATH': str(Path(sys.executable).parent)})
    assert r.returncode == 1 and 'sbatch not found' in r.stderr
    assert not (tmp_path/'run').exists()
    r = sscl('slurm', 'submit', '--config', cfg, '--settings', s, '--gpus', '2', '--dry-run')
    assert r.returncode == 0 and '#SBATCH --ntasks-per-node=2 ' in r.stdout and 'dry run' in r.stdout and not (tmp_path/'run').exists()

def test_slurm_folder_matches_the_generator():
    "slurm/cannon.yaml and the example scripts are exactly what sscl.slurm writes today."
    from sscl.slurm import CANNON, example_scripts
    assert (ROOT/'slurm'/'cannon.yaml').read_text() == CANNON
    for name, text in example_scripts(ROOT).items():
        assert (ROOT/'slurm'/name).read_text() == text, f'slurm/{name} is stale: regenerate it with sscl.slurm.example_scripts'
        assert '/work/' not in text and f'sbatch slurm/{name}' in text

KICK = '''import os, signal
from lightning.pytorch.callbacks import Callback
class Kick(Callback):
    "Send SIGUSR1 to this process at the end of batch `batch` of epoch `epoch`, as SLURM does before the time limit."
    def __init__(self, epoch: int = 1, batch: int = 5): self.epoch, self.batch = epoch, batch
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch: os.kill(os.getpid(), signal.SIGUSR1)
'''

def test_requeue_mid_epoch_logs_each_epoch_once(tmp_path):
    "A requeue in the middle of an epoch, then the resumed start: one row per batch, one epoch row and one validation row per epoch."
    import csv
    (tmp_path/'kick.py').write_text(KICK)  # sscl puts the working directory on the import path
    run, cfg = tmp_path/'run', _config(tmp_path/'c.yaml', tmp_path/'run', 3)
    c = yaml.safe_load(cfg.read_text())
    c['trainer']['callbacks'] = [{'class_path': 'kick.Kick', 'init_args': {'epoch': 1, 'batch': 5}},
                                 {'class_path': 'sscl.slurm.SlurmRequeue', 'init_args': {'command': ['true'], 'signum': 10}}]
    cfg.write_text(yaml.safe_dump(c))
    r = sscl('fit', '--config', cfg, cwd=tmp_path)
    assert 'saved' in r.stdout and (run/'hpc_ckpt_1.ckpt').exists(), r.stderr[-3000:]
    steps = 1295 // 64  # one process, batch 64, drop_last
    assert _step(run/'hpc_ckpt_1.ckpt') == steps + 6  # saved after the sixth batch of epoch 1
    r = sscl('fit', '--config', cfg, '--ckpt_path', run/'hpc_ckpt_1.ckpt', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = list(csv.DictReader(open(run/'metrics.csv')))
    assert [int(x['epoch']) for x in rows if x.get('train/loss_epoch')] == [0, 1, 2]
    assert [int(x['epoch']) for x in rows if x.get('val/loss')] == [0, 1, 2]
    assert [int(x['step']) for x in rows if x.get('train/loss_step')] == list(range(3 * steps))
