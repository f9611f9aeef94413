"""`sscl` end to end: config errors caught before training, missing files named, a NaN stops training without
touching the last good checkpoint, SIGTERM never leaves a truncated checkpoint and the resume continues the step
count, and `sscl predict` writes embeddings that an independent computation reproduces."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest, torch
from conftest import ROOT
from helpers import sscl

TINY = """
trainer: {{max_epochs: {epochs}, default_root_dir: {run}, enable_progress_bar: false, enable_model_summary: false, log_every_n_steps: 1}}
model:
  encoder: {{class_path: sscl.encoders.MLP, init_args: {{input_dim: 6, hidden_dims: [16], output_dim: 3}}}}
  plot_every_n_epochs: 0
data: {{class_path: sscl.pairs.ArrayDataModule, init_args: {{path: {data}, batch_size: 16, val_fraction: 0.2}}}}
"""

def tiny(tmp, epochs=2, nan=False, name='cfg.yaml', run=None):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype(np.float32); y = np.arange(120) % 3
    if nan: x[:] = 3e38  # finite, so the data check passes; the forward pass overflows to inf and NaN
    data = tmp/('nan.npz' if nan else 'data.npz'); np.savez(data, x=x, y=y)
    cfg = tmp/name; cfg.write_text(TINY.format(epochs=epochs, run=run or tmp/'run', data=data))
    return cfg

def test_unknown_class_path_is_named_before_training(tmp_path):
    r = sscl('fit', '--config', tiny(tmp_path), '--model.encoder', 'sscl.encoders.NoSuchNet')
    assert r.returncode != 0 and 'NoSuchNet' in r.stderr
    assert not (tmp_path/'run'/'checkpoints').exists()

def test_misspelt_key_is_named(tmp_path):
    cfg = tiny(tmp_path); cfg.write_text(cfg.read_text().replace('plot_every_n_epochs: 0', 'temprature: 0.2'))
    r = sscl('fit', '--config', cfg)
    assert r.returncode != 0 and 'temprature' in r.stderr

def test_missing_data_root_names_path_and_layout(tmp_path):
    r = sscl('fit', '--config', ROOT/'configs'/'imagenette_fineTuneSimCLR.yaml', '--data.init_args.root', tmp_path/'nowhere',
             '--model.encoder.init_args.checkpoint', 'null', '--trainer.default_root_dir', tmp_path/'run')
    assert r.returncode == 1
    assert f"{tmp_path/'nowhere'} does not exist" in r.stderr and 'WordNet id' in r.stderr

def test_missing_checkpoint_names_path(tmp_path):
    r = sscl('fit', '--config', ROOT/'configs'/'imagenette_fineTuneSimCLR.yaml', '--trainer.default_root_dir', tmp_path/'run',
             env={'SSCL_WEIGHTS': str(tmp_path/'w')})
    assert r.returncode == 1 and f"{tmp_path/'w'/'resnet50-1x.pth'}" in r.stderr

def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    r = sscl('fit', '--config', tiny(tmp_path, epochs=1))
    assert r.returncode == 0, r.stderr[-3000:]
    last = tmp_path/'run'/'checkpoints'/'last.ckpt'
    good = last.read_bytes()
    r = sscl('fit', '--config', tiny(tmp_path, epochs=3, nan=True, name='nan.yaml'), '--ckpt_path', 'last')
    assert r.returncode == 1 and 'non-finite' in r.stderr, r.stderr[-3000:]
    assert last.read_bytes() == good
    state = torch.load(last, map_location='cpu', weights_only=False)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())

def _step(ckpt): return torch.load(ckpt, map_location='cpu', weights_only=False)['global_step']

def test_sigterm_mid_epoch_then_resume_continues(tmp_path):
    cfg = tiny(tmp_path, epochs=1000)
    ckdir = tmp_path/'run'/'checkpoints'
    cfg.write_text(cfg.read_text().replace('log_every_n_steps: 1}}', 'log_every_n_steps: 1,\n  callbacks: [{class_path: '
        f'lightning.pytorch.callbacks.ModelCheckpoint, init_args: {{dirpath: {ckdir}, every_n_train_steps: 1, save_last: true}}}}]}}'))
    p = subprocess.Popen([sys.executable, '-m', 'sscl', 'fit', '--config', str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, 'OMP_NUM_THREADS': '1'})
    last, t0 = ckdir/'last.ckpt', time.time()
    while time.time() - t0 < 120 and (not last.exists() or _step(last) < 12): time.sleep(0.1)
    p.send_signal(signal.SIGTERM); p.communicate(timeout=120)
    assert not [f for f in ckdir.iterdir() if f.name.endswith('.tmp')], 'a temporary checkpoint was left behind'
    stopped = _step(last)  # it loads: the checkpoint is whole
    assert stopped >= 12
    r = sscl('fit', '--config', cfg, '--ckpt_path', 'last', '--trainer.max_steps', stopped + 5)
    assert r.returncode == 0, r.stderr[-3000:]
    assert _step(last) == stopped + 5
    import csv  # the metrics before the resume survive it, and no step is logged twice
    steps = [int(r_['step']) for r_ in csv.DictReader(open(tmp_path/'run'/'metrics.csv')) if r_.get('train/loss_step')]
    assert steps == list(range(len(steps))) and len(steps) >= stopped + 5, (stopped, steps)  # each step once, none missing

def test_resume_logs_at_the_optimizer_step_when_the_checkpoint_disagrees(tmp_path):
    """One CI run resumed a SIGTERM-stopped run one logging step ahead of its optimizer step, leaving a gap in
    metrics.csv. A checkpoint doctored into that state must still resume without a gap or a repeat."""
    cfg = tiny(tmp_path, epochs=2)
    r = sscl('fit', '--config', cfg)
    assert r.returncode == 0 and 'logging step was' not in r.stderr  # an uninterrupted run is always in step
    last = tmp_path/'run'/'checkpoints'/'last.ckpt'
    c = torch.load(last, map_location='cpu', weights_only=False)
    state = c['loops']['fit_loop']['epoch_loop.state_dict']; state['_batches_that_stepped'] += 1
    torch.save(c, last)
    r = sscl('fit', '--config', cfg, '--ckpt_path', 'last', '--trainer.max_epochs', 4)
    assert r.returncode == 0, r.stderr[-3000:]
    import csv
    steps = [int(r_['step']) for r_ in csv.DictReader(open(tmp_path/'run'/'metrics.csv')) if r_.get('train/loss_step')]
    assert steps == list(range(2 * c['global_step'])), steps
    import re  # realigned once, then in step (the warning prints its source line too, hence the digits)
    assert re.findall(r'logging step was \d+ at optimizer step \d+', r.stderr) == [f"logging step was {c['global_step'] + 1} at optimizer step {c['global_step']}"]

def test_predict_writes_embeddings_that_match_the_model(tmp_path):
    cfg = tiny(tmp_path, epochs=2)
    assert sscl('fit', '--config', cfg).returncode == 0
    run = tmp_path/'run'
    assert (run/'config.yaml').exists() and 'ArrayDataModule' in (run/'config.yaml').read_text()
    r = sscl('predict', '--config', cfg, '--ckpt_path', run/'checkpoints'/'last.ckpt', '--data.init_args.predict_split', 'val')
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"wrote {run/'predict'/'val.npz'}" in r.stdout  # beside the run's own embeddings, never over them
    emb = np.load(run/'predict'/'val.npz')
    assert list(emb['idx']) == sorted(set(emb['idx'])) and emb['h'].shape == (len(emb['idx']), 3)
    from sscl.model import SimCLRModel
    from sscl.encoders import MLP
    m = SimCLRModel(MLP(6, [16], 3)); sd = torch.load(run/'checkpoints'/'last.ckpt', weights_only=False)['state_dict']
    m.load_state_dict(sd); m.eval()
    x_all = np.load(tmp_path/'data.npz')['x']
    train = np.load(run/'embeddings'/'train.npz')['idx']  # tabular inputs are standardised by the training split
    x = (x_all[emb['idx']] - x_all[train].mean(0)) / x_all[train].std(0, ddof=1)
    with torch.no_grad(): h = m(torch.from_numpy(x.astype(np.float32))).numpy()
    np.testing.assert_allclose(emb['h'], h, atol=1e-5)
    np.testing.assert_array_equal(emb['y'], np.load(tmp_path/'data.npz')['y'][emb['idx']])

def test_corner_plot_in_run_dir_and_tensorboard(tmp_path):
    cfg = tiny(tmp_path, epochs=2); cfg.write_text(cfg.read_text().replace('plot_every_n_epochs: 0', 'plot_every_n_epochs: 1'))
    r = sscl('fit', '--config', cfg)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path/'run'
    assert (run/'plots'/'val_corner_epoch000.png').exists() and (run/'plots'/'val_corner_epoch001.png').exists()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ev = EventAccumulator(str(run), size_guidance={'images': 0}).Reload()
    assert 'val/corner' in ev.Tags()['images'] and len(ev.Images('val/corner')) == 2
    assert 'train/loss_step' in ev.Tags()['scalars']

def test_discover_command_on_predict_files(tmp_path):
    "`sscl discover` with the shipped discovery config, pointed at embedding files in `sscl predict`'s format."
    import yaml
    rng = np.random.default_rng(0)
    h = np.concatenate([rng.normal(size=(1500, 4)), rng.normal(3, 0.3, size=(200, 4))]); y = np.r_[np.arange(1500) % 4, np.full(200, 4)]
    for split in ('train', 'test'): np.savez(tmp_path/f'{split}.npz', h=h, y=y, idx=np.arange(len(y)))
    cfg = yaml.safe_load((ROOT/'configs'/'discovery'/'gaussians.yaml').read_text())
    cfg.update(embeddings=str(tmp_path/'test.npz'), train_embeddings=str(tmp_path/'train.npz'), output=str(tmp_path/'out'),
               n_ref=400, n_data=100, n_toys=4, n_null=30, fractions=[0.0, 0.2])
    (tmp_path/'d.yaml').write_text(yaml.safe_dump(cfg))
    r = sscl('discover', '--config', tmp_path/'d.yaml')
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path/'out'/'report.md').exists() and (tmp_path/'out'/'sweep.png').exists() and 'NPLM: median Z' in r.stdout
    r = sscl('discover', '--config', tmp_path/'d.yaml')
    assert r.returncode == 1 and '--overwrite' in r.stderr

MY_ENCODER = '''import torch
from torch import nn

class MyEnc(nn.Module):
    "A user's encoder: flattened digits -> a hidden layer -> embed_dim."
    def __init__(self, hidden: int = 32, embed_dim: int = 8):
        super().__init__()
        self.embed_dim = embed_dim
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, embed_dim))

    def forward(self, x):
        return self.net(x)
'''

def test_own_encoder_from_the_working_directory_and_any_embed_dim(tmp_path):
    """A module in the working directory is found by `sscl` (no PYTHONPATH), and the encoder's embedding size feeds
    the projector: changing embed_dim alone used to fail with 'mat1 and mat2 shapes cannot be multiplied'."""
    (tmp_path/'my_enc.py').write_text(MY_ENCODER)
    cfg = ROOT/'configs'/'digits_simclr.yaml'
    r = sscl('fit', '--config', cfg, '--model.encoder.help', 'my_enc.MyEnc', cwd=tmp_path)
    assert r.returncode == 0 and '--model.encoder.hidden HIDDEN' in r.stdout, r.stderr[-2000:]
    for name, enc in (('own', ['--model.encoder', 'my_enc.MyEnc', '--model.encoder.init_args.embed_dim', '5']),
                      ('builtin', ['--model.encoder.init_args.embed_dim', '5'])):
        r = sscl('fit', '--config', cfg, *enc, '--trainer.max_epochs', '1', '--trainer.limit_train_batches', '2',
                 '--trainer.limit_val_batches', '1', '--trainer.default_root_dir', tmp_path/name, cwd=tmp_path)
        assert r.returncode == 0, (name, r.stderr[-3000:])
        h = np.load(tmp_path/name/'embeddings'/'test.npz')['h']
        assert h.shape[1] == 5, (name, h.shape)
        sd = torch.load(tmp_path/name/'checkpoints'/'last.ckpt', weights_only=True)['state_dict']
        assert sd['projector.0.weight'].shape == (64, 5)  # the projector's first layer takes the 5-dim embedding
        assert ('encoder.net.1.weight' in sd) == (name == 'own')

OWN_DATA = """
trainer: {{max_epochs: 2, default_root_dir: {run}, enable_progress_bar: false, enable_model_summary: false}}
model:
  encoder: {{class_path: sscl.encoders.MLP, init_args: {{input_dim: 5, hidden_dims: [16], output_dim: 3}}}}
  plot_every_n_epochs: 0
data:
  class_path: sscl.pairs.ArrayDataModule
  init_args: {{path: {path}, x_key: data, y_key: label, batch_size: 16}}
"""

def _mlp_embed(ckpt, x):
    "The trained encoder (an MLP 5 -> 16 -> 3) applied to x, from the checkpoint's weights, in plain torch."
    sd = torch.load(ckpt, weights_only=True)['state_dict']
    h = torch.relu(torch.as_tensor(x) @ sd['encoder.0.weight'].T + sd['encoder.0.bias'])
    return (h @ sd['encoder.2.weight'].T + sd['encoder.2.bias']).numpy()

def test_own_arrays_unlabelled_split_files_and_standardisation(tmp_path):
    """A user's arrays: GWAK-style keys (data/label), a file per split, no labels at all (SimCLR trains, no kNN accuracy
    and it says so, where it used to die with 'Class values must be non-negative'), inputs standardised by the
    training split and that standardisation applied by predict to new data."""
    rng = np.random.default_rng(1)
    scale = np.array([1, 10, 100, 1000, 0.01], dtype=np.float32)
    files = {}
    for split, n in (('train', 160), ('val', 40), ('test', 40)):
        files[split] = tmp_path/f'{split}.npz'
        np.savez(files[split], data=(rng.normal(3, 1, (n, 5)) * scale).astype(np.float32))  # no labels
    cfg = tmp_path/'own.yaml'
    cfg.write_text(OWN_DATA.format(run=tmp_path/'run', path='{' + ', '.join(f'{k}: {v}' for k, v in files.items()) + '}'))
    r = sscl('fit', '--config', cfg)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout + r.stderr
    assert out.count('have no labels of two classes or more: no kNN accuracy is computed') == 1 and 'no kNN accuracy; embeddings in' in out
    assert 'inputs standardised by the training split (160 samples)' in out
    res = json.loads((tmp_path/'run'/'results.json').read_text())
    assert res['test_knn_accuracy'] is None and res['n_test_unlabelled'] == 40 and res['n_train'] == 160
    ckpt = tmp_path/'run'/'checkpoints'/'last.ckpt'
    state = torch.load(ckpt, weights_only=True)['ArrayDataModule']
    x_train = np.load(files['train'])['data']
    np.testing.assert_allclose(state['mean'].numpy(), x_train.mean(0), rtol=1e-5)
    np.testing.assert_allclose(state['std'].numpy(), x_train.std(0, ddof=1), rtol=1e-4)
    # predict on new data: scaled by the training run's mean and std, not its own
    new = (rng.normal(5, 2, (30, 5)) * scale).astype(np.float32)
    np.savez(tmp_path/'new.npz', data_train=new, data_test=new)
    r = sscl('predict', '--config', cfg, '--ckpt_path', ckpt, '--data.init_args.path', tmp_path/'new.npz')
    assert r.returncode == 0, r.stderr[-3000:]
    pred = np.load(tmp_path/'run'/'predict'/'test.npz')
    want = _mlp_embed(ckpt, (new - x_train.mean(0)) / x_train.std(0, ddof=1))
    np.testing.assert_allclose(pred['h'], want[pred['idx']], rtol=1e-3, atol=1e-4)
