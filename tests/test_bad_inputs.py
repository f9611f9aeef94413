"""Every command's inputs gone through as a careless or hostile user would: config keys, files, environment and
options. Each bad input must end with an error that names its cause (the key, file or option, and what is
allowed) and no traceback. The count of cases is printed by `pytest -s` and quoted in the safety note."""
import contextlib, io, json, os, pickle, shutil
from pathlib import Path
import numpy as np, pytest, torch, yaml
from helpers import ROOT, run_main

TINY = {'trainer': {'max_epochs': 1, 'enable_progress_bar': False, 'enable_model_summary': False},
        'model': {'encoder': {'class_path': 'sscl.encoders.MLP', 'init_args': {'input_dim': 6, 'hidden_dims': [16], 'output_dim': 3}},
                  'plot_every_n_epochs': 0},
        'data': {'class_path': 'sscl.pairs.ArrayDataModule', 'init_args': {'batch_size': 16, 'val_fraction': 0.2}}}


class _Planted:
    def __init__(self, target): self.target = str(target)
    def __reduce__(self): return (os.system, (f'touch {self.target}',))


def _files(d:Path) -> dict:
    "The files the cases point at, written once per test."
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 6)).astype(np.float32), np.arange(60) % 3
    np.savez(d/'ok.npz', x=x, y=y)
    np.savez(d/'noy.npz', x=x)
    np.savez(d/'floaty.npz', x=x, y=y + 0.25)
    xn = x.copy(); xn[3, 1] = np.inf; np.savez(d/'inf.npz', x=xn, y=y)
    np.savez(d/'short.npz', x=x, y=y[:50])
    (d/'junk.ckpt').write_bytes(b'\x80\x02junk')
    torch.save({'state_dict': {}, 'evil': _Planted(d/'pwned')}, d/'planted.ckpt')
    from sscl.model import SimCLRModel
    from sscl.encoders import MLP
    rc, out = run_main(['fit', '--config', fit_cfg(d), '--trainer.max_epochs', 2, '--trainer.default_root_dir', d/'trained'])
    assert rc == 0, out[-2000:]
    shutil.copy(d/'trained'/'checkpoints'/'last.ckpt', d/'epoch2.ckpt')  # a real checkpoint, after two epochs
    ck = torch.load(d/'epoch2.ckpt', weights_only=True)
    torch.save({**ck, 'state_dict': SimCLRModel(MLP(6, [32], 3)).state_dict()}, d/'wide.ckpt')
    (d/'a_file').write_text('x')
    (d/'broken.yaml').write_text('a: [1, 2\nb: 3\n')
    (d/'list.yaml').write_text('- 1\n- 2\n')
    (d/'base.yaml').write_text(yaml.safe_dump({**TINY, 'data': {**TINY['data'], 'init_args': {**TINY['data']['init_args'], 'path': str(d/'ok.npz')}}}))
    np.savez(d/'emb.npz', h=rng.normal(size=(300, 2)), y=np.arange(300) % 3, idx=np.arange(300))
    (d/'settings.yaml').write_text(yaml.safe_dump({'setup': '', 'defaults': {'partition': 'p', 'time': '00:10:00'},
                                                   'partitions': {'p': {'gpus_per_node': 0, 'max_time': '01:00:00'}}}))
    (d/'noparts.yaml').write_text('setup: ""\n')
    return d


def fit_cfg(d, **init):
    "A tiny fit config on d/ok.npz with data init_args changed, written to d/fit.yaml."
    c = json.loads(json.dumps(TINY)); c['trainer']['default_root_dir'] = str(d/'run')
    c['data']['init_args'].update({'path': str(d/'ok.npz'), **init})
    (d/'fit.yaml').write_text(yaml.safe_dump(c)); return d/'fit.yaml'


def yaml_file(d, name, obj):
    (d/name).write_text(yaml.safe_dump(obj)); return d/name


def pipe(d, **over):
    return yaml_file(d, 'pipe.yaml', {'dir': str(d/'pipe'), 'base': 'base.yaml', **over})


def disc(d, **over):
    return yaml_file(d, 'disc.yaml', {'embeddings': str(d/'emb.npz'), 'signal_classes': [2], 'output': str(d/'out'), **over})


SLURM = lambda d, *a: ['slurm', 'submit', '--config', str(fit_cfg(d)), '--settings', str(d/'settings.yaml'), '--dry-run', *a]

# (case id, argv builder taking the files folder, text the error must hold)
CASES = [
    ('fit: config file missing', lambda d: ['fit', '--config', str(d/'nope.yaml')], 'nope.yaml'),
    ('fit: config YAML syntax', lambda d: ['fit', '--config', str(d/'broken.yaml')], 'broken.yaml'),
    ('fit: unknown encoder class', lambda d: ['fit', '--config', str(fit_cfg(d)), '--model.encoder', 'sscl.encoders.NoNet'], 'NoNet'),
    ('fit: misspelt model key', lambda d: ['fit', '--config', str(fit_cfg(d)), '--model.temprature', '0.2'], 'temprature'),
    ('fit: max_epochs not a number', lambda d: ['fit', '--config', str(fit_cfg(d)), '--trainer.max_epochs', 'many'], 'max_epochs'),
    ('fit: batch_size 0', lambda d: ['fit', '--config', str(fit_cfg(d, batch_size=0))], 'batch_size=0'),
    ('fit: batch_size 1', lambda d: ['fit', '--config', str(fit_cfg(d, batch_size=1))], 'batch_size=1'),
    ('fit: n_views 1 in views mode', lambda d: ['fit', '--config', str(fit_cfg(d, n_views=1))], 'n_views=1'),
    ('fit: n_views 0', lambda d: ['fit', '--config', str(fit_cfg(d, n_views=0, mode='labels'))], 'n_views=0'),
    ('fit: mode both', lambda d: ['fit', '--config', str(fit_cfg(d, mode='both'))], "mode='both'"),
    ('fit: label_fraction 1.5', lambda d: ['fit', '--config', str(fit_cfg(d, label_fraction=1.5))], 'label_fraction=1.5'),
    ('fit: labels_per_class 0', lambda d: ['fit', '--config', str(fit_cfg(d, labels_per_class=0))], 'labels_per_class=0'),
    ('fit: labels_per_class -1', lambda d: ['fit', '--config', str(fit_cfg(d, labels_per_class=-1))], 'labels_per_class=-1'),
    ('fit: val_fraction 1', lambda d: ['fit', '--config', str(fit_cfg(d, val_fraction=1.0))], 'val_fraction=1.0'),
    ('fit: test_fraction 0', lambda d: ['fit', '--config', str(fit_cfg(d, test_fraction=0.0))], 'test_fraction=0.0'),
    ('fit: num_workers -1', lambda d: ['fit', '--config', str(fit_cfg(d, num_workers=-1))], 'num_workers=-1'),
    ('fit: predict_split dev', lambda d: ['fit', '--config', str(fit_cfg(d, predict_split='dev'))], "predict_split='dev'"),
    ('fit: exclude a class not in the data', lambda d: ['fit', '--config', str(fit_cfg(d, exclude_classes=[9]))], '[9] are not in the data'),
    ('fit: array file missing', lambda d: ['fit', '--config', str(fit_cfg(d, path=str(d/'none.npz')))], 'none.npz does not exist'),
    ('fit: SupCon on an array file without y', lambda d: ['fit', '--config', str(fit_cfg(d, path=str(d/'noy.npz'), mode='labels'))],
     'mode: labels (SupCon) needs them'),
    ('fit: array file without its x_key', lambda d: ['fit', '--config', str(fit_cfg(d, path=str(d/'noy.npz'), x_key='data'))],
     "has no array 'data' (x_key)"),
    ('fit: float labels', lambda d: ['fit', '--config', str(fit_cfg(d, path=str(d/'floaty.npz')))], 'must be integer class ids'),
    ('fit: an infinite input', lambda d: ['fit', '--config', str(fit_cfg(d, path=str(d/'inf.npz')))], 'NaN or infinite inputs'),
    ('fit: x and y of different lengths', lambda d: ['fit', '--config', str(fit_cfg(d, path=str(d/'short.npz')))], '60 inputs, 50 labels'),
    ('fit: unknown array kind', lambda d: ['fit', '--config', str(fit_cfg(d, kind='images'))], "'images'"),
    ('fit: pseudo-label file missing', lambda d: ['fit', '--config', str(fit_cfg(d, mode='labels', pseudo_labels=str(d/'pl.npz')))], 'pl.npz does not exist'),
    ('fit: pseudo-labels in views mode', lambda d: ['fit', '--config', str(fit_cfg(d, pseudo_labels=str(d/'pl.npz')))], "need mode 'labels'"),
    ('fit: ckpt_path missing', lambda d: ['fit', '--config', str(fit_cfg(d)), '--ckpt_path', str(d/'gone.ckpt')], 'gone.ckpt'),
    ('fit: ckpt_path not a checkpoint', lambda d: ['fit', '--config', str(fit_cfg(d)), '--ckpt_path', str(d/'junk.ckpt')], 'junk.ckpt is not a readable'),
    ('fit: ckpt_path planted', lambda d: ['fit', '--config', str(fit_cfg(d)), '--ckpt_path', str(d/'planted.ckpt')], 'asks for posix.system'),
    ('fit: pretrain_ckpt missing', lambda d: ['fit', '--config', str(fit_cfg(d)), '--model.pretrain_ckpt', str(d/'pre.ckpt')], 'pre.ckpt'),
    ('fit: pretrain_ckpt planted', lambda d: ['fit', '--config', str(fit_cfg(d)), '--model.pretrain_ckpt', str(d/'planted.ckpt')], 'asks for posix.system'),
    ('fit: scheduler_interval batch', lambda d: ['fit', '--config', str(fit_cfg(d)), '--model.scheduler_interval', 'batch'], "'batch'"),
    ('fit: projector of the wrong size', lambda d: ['fit', '--config', str(fit_cfg(d)), '--model.projector', 'sscl.encoders.MLP',
        '--model.projector.input_dim', '8', '--model.projector.hidden_dims', '[8]', '--model.projector.output_dim', '4'], 'model.projector takes inputs of size 8'),
    ('fit: run dir with an unset variable', lambda d: ['fit', '--config', str(fit_cfg(d)), '--trainer.default_root_dir', '$SSCL_UNSET_X/r'], 'SSCL_UNSET_X'),
    ('fit: run dir is a file', lambda d: ['fit', '--config', str(fit_cfg(d)), '--trainer.default_root_dir', str(d/'a_file')], 'is a file'),
    ('fit: checkpoint of another network', lambda d: ['fit', '--config', str(fit_cfg(d)), '--ckpt_path', str(d/'wide.ckpt')],
        'does not fit the configured model: weights 3 of another shape (encoder.0.bias (32,) vs (16,)'),
    ('predict: checkpoint of another network', lambda d: ['predict', '--config', str(fit_cfg(d)), '--ckpt_path', str(d/'wide.ckpt')],
        'does not fit the configured model'),
    ('predict: --output a folder of other files', lambda d: ['predict', '--config', str(fit_cfg(d)), '--ckpt_path', str(d/'epoch2.ckpt'),
        '--output', str(d)], 'is not marked as an sscl predict folder'),
    ('predict: no checkpoint', lambda d: ['predict', '--config', str(fit_cfg(d))], 'needs a trained checkpoint'),
    ('predict: --output without a folder', lambda d: ['predict', '--config', str(fit_cfg(d)), '--output'], '--output needs a directory'),
    ('validate: no checkpoint', lambda d: ['validate', '--config', str(fit_cfg(d))], 'needs a trained checkpoint'),
    ('test: planted checkpoint', lambda d: ['test', '--config', str(fit_cfg(d)), '--ckpt_path', str(d/'planted.ckpt')], 'asks for posix.system'),
    ('fit: unknown alignment', lambda d: ['fit', '--config', str(fit_cfg(d)), '--model.align', 'wasserstein'], "align must be one of"),
    ('fit: negative alignment weight', lambda d: ['fit', '--config', str(fit_cfg(d)), '--model.align', 'coral', '--model.lambda_align', '-1'],
        'lambda_align must be >= 0'),
    ('fit: domain_bn without batch norm', lambda d: ['fit', '--config', str(fit_cfg(d)), '--model.domain_bn', 'true'], 'has no BatchNorm1d/2d layer'),
    ('fit: train_domains not in the data', lambda d: ['fit', '--config', str(fit_cfg(d, train_domains=[3]))], 'train_domains [3]: no training sample'),
    ('pipeline: variants not a mapping', lambda d: ['pipeline', '--config', str(pipe(d, variants=['coral']))], 'variants must map names to overrides'),
    ('pipeline: variants with cycles 0', lambda d: ['pipeline', '--config', str(pipe(d, cycles=0, variants={'c': {'model.align': 'coral'}}))],
        'they need cycles >= 1'),
    ('pipeline: config missing', lambda d: ['pipeline', '--config', str(d/'nope.yaml')], 'nope.yaml does not exist'),
    ('pipeline: YAML syntax', lambda d: ['pipeline', '--config', str(d/'broken.yaml')], 'broken.yaml is not valid YAML at line'),
    ('pipeline: not a mapping', lambda d: ['pipeline', '--config', str(d/'list.yaml')], 'must hold a mapping'),
    ('pipeline: unknown key', lambda d: ['pipeline', '--config', str(pipe(d, round_2={}))], "unknown keys ['round_2']"),
    ('pipeline: no base', lambda d: ['pipeline', '--config', str(yaml_file(d, 'p0.yaml', {'dir': str(d/'p')}))], '`base`'),
    ('pipeline: base missing', lambda d: ['pipeline', '--config', str(pipe(d, base='nobase.yaml'))], 'nobase.yaml does not exist'),
    ('pipeline: round2.init bad', lambda d: ['pipeline', '--config', str(pipe(d, round2={'init': 'round0'}))], 'round2.init'),
    ('pipeline: cycles -1', lambda d: ['pipeline', '--config', str(pipe(d, cycles=-1))], 'cycles must be a whole number >= 0'),
    ('pipeline: overwrite and resume', lambda d: ['pipeline', '--config', str(pipe(d)), '--overwrite', '--resume'], 'not both'),
    ('pipeline: dir with an unset variable', lambda d: ['pipeline', '--config', str(pipe(d, dir='$SSCL_UNSET_X/p'))], 'SSCL_UNSET_X'),
    ('pipeline: typo in a round', lambda d: ['pipeline', '--config', str(pipe(d, round1={'model.temprature': 1}))], 'round1 of the pipeline does not parse'),
    ('discover: config missing', lambda d: ['discover', '--config', str(d/'nope.yaml')], 'nope.yaml does not exist'),
    ('discover: YAML syntax', lambda d: ['discover', '--config', str(d/'broken.yaml')], 'not valid YAML'),
    ('discover: unknown key', lambda d: ['discover', '--config', str(disc(d, n_toy=3))], "['n_toy']"),
    ('discover: no embeddings', lambda d: ['discover', '--config', str(yaml_file(d, 'd0.yaml', {'signal_classes': [1]}))], "'embeddings'"),
    ('discover: n_ref negative', lambda d: ['discover', '--config', str(disc(d, n_ref=-5))], 'n_ref=-5'),
    ('discover: n_toys 0', lambda d: ['discover', '--config', str(disc(d, n_toys=0))], 'n_toys=0'),
    ('discover: n_null 1', lambda d: ['discover', '--config', str(disc(d, n_null=1))], 'n_null=1'),
    ('discover: negative fraction', lambda d: ['discover', '--config', str(disc(d, fractions=[0, -0.1]))], 'fractions='),
    ('discover: M 0', lambda d: ['discover', '--config', str(disc(d, M=0))], 'M=0'),
    ('discover: unknown test', lambda d: ['discover', '--config', str(disc(d, tests=['knn']))], "tests must be among"),
    ('discover: embeddings missing', lambda d: ['discover', '--config', str(disc(d, embeddings=str(d/'gone.npz')))], 'gone.npz'),
    ('discover: signal class absent', lambda d: ['discover', '--config', str(disc(d, signal_classes=[7], n_ref=50, n_data=10))], 'no sample of signal_classes [7]'),
    ('discover: output of other files', lambda d: ['discover', '--config', str(disc(d, output=str(d)))], 'not marked as an sscl discovery report'),
    ('slurm: --gpus 0', lambda d: SLURM(d, '--gpus', '0'), '--gpus 0'),
    ('slurm: --nodes -1', lambda d: SLURM(d, '--nodes', '-1'), '--nodes -1'),
    ('slurm: --gpus not a number', lambda d: SLURM(d, '--gpus', 'two'), "--gpus: invalid int value: 'two'"),
    ('slurm: bad time', lambda d: SLURM(d, '--time', '1h'), "time '1h'"),
    ('slurm: time over the limit', lambda d: SLURM(d, '--time', '02:00:00'), "exceeds partition p's limit"),
    ('slurm: unknown partition', lambda d: SLURM(d, '--partition', 'gpu9'), "partition 'gpu9' is not in"),
    ('slurm: sweep without =', lambda d: SLURM(d, '--sweep', 'model.temperature'), 'key=v1,v2'),
    ('slurm: sweep YAML error', lambda d: SLURM(d, '--sweep', 'model.temperature={a'), "--sweep 'model.temperature={a'"),
    ('slurm: sweep key not a key', lambda d: SLURM(d, '--sweep', 'model.$x=1'), 'is not a config key'),
    ('slurm: settings missing', lambda d: ['slurm', 'submit', '--config', str(fit_cfg(d)), '--settings', str(d/'s0.yaml'), '--dry-run'], 's0.yaml does not exist'),
    ('slurm: settings YAML error', lambda d: ['slurm', 'submit', '--config', str(fit_cfg(d)), '--settings', str(d/'broken.yaml'), '--dry-run'], 'broken.yaml is not valid YAML'),
    ('slurm: settings without partitions', lambda d: ['slurm', 'submit', '--config', str(fit_cfg(d)), '--settings', str(d/'noparts.yaml'), '--dry-run'], 'no `partitions`'),
    ('slurm: training config missing', lambda d: ['slurm', 'submit', '--config', str(d/'nope.yaml'), '--settings', str(d/'settings.yaml'), '--dry-run'], 'nope.yaml does not exist'),
    ('slurm: no action', lambda d: ['slurm'], 'required: action'),
    ('info: extra arguments', lambda d: ['info', 'now'], "unexpected arguments ['now']"),
    ('sscl: unknown command', lambda d: ['trian'], "unknown command 'trian'"),
]


@pytest.fixture(scope='module')
def files(tmp_path_factory): return _files(tmp_path_factory.mktemp('bad'))


@pytest.mark.parametrize('case, argv, says', CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_named(files, case, argv, says, tmp_path):
    for p in (files/'run', files/'pipe'):  # each case starts from the same files
        if p.exists(): shutil.rmtree(p)
    rc, text = run_main(argv(files))
    assert rc != 0, f'{case}: exit 0\n{text[-2000:]}'
    assert 'Traceback' not in text, f'{case}: a traceback\n{text[-3000:]}'
    assert says in text, f'{case}: the message does not name the cause ({says!r})\n{text[-2000:]}'
    assert not (files/'pwned').exists(), f'{case}: a planted file ran'


def test_the_count_is_quoted(capsys):
    with capsys.disabled(): print(f'\nbad inputs tried: {len(CASES)}')
    assert len({c[0] for c in CASES}) == len(CASES) >= 70
