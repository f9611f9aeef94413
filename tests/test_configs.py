"""Every config in configs/ runs: a fast dev run (one training and one validation batch) of `sscl fit` on tiny data
written in the real on-disk format, with the config's own model, optimizer, scheduler and trainer settings."""
import re
import pytest, torch
from conftest import ROOT
from helpers import sscl, write_imagenette, write_cifar, write_simclr_v1_checkpoint

import yaml
_ALL = sorted((ROOT/'configs').glob('*.yaml'))
PIPELINES = [p.name for p in _ALL if 'base' in yaml.safe_load(p.read_text())]  # `sscl pipeline` configs
CONFIGS = [p.name for p in _ALL if p.name not in PIPELINES]

def overrides(name, tmp):
    "Per-config data (and weights) on disk, kept tiny."
    if name.startswith('imagenette'):
        args = ['--data.init_args.root', write_imagenette(tmp/'data'), '--data.init_args.image_size', 32, '--data.init_args.num_workers', 0]
        if 'NoiseShift' in name:  # start from a checkpoint of the earlier round, as the config does
            from sscl.model import SimCLRModel
            from sscl.encoders import SimCLRv1Encoder, MLP
            m = SimCLRModel(SimCLRv1Encoder(embed_dim=4), MLP(4, [4], 4), classifier=torch.nn.Linear(4, 10))
            torch.save({'state_dict': m.state_dict()}, tmp/'round1.ckpt')
            args += ['--model.pretrain_ckpt', tmp/'round1.ckpt']
        return args
    if name.startswith('cifar10'):
        return ['--data.init_args.root', write_cifar(tmp/'data'), '--data.init_args.check_md5', 'false', '--data.init_args.num_workers', 0]
    if name.startswith(('gaussians', 'synthetic')): return ['--data.init_args.n_per_class', 30]
    if name.startswith('toyjets'): return ['--data.init_args.n_per_class', 20]
    if name.startswith('timeseries'): return ['--data.init_args.n_per_class', 20]
    if name.startswith('arrays'):  # a user's file: 20 features, half of the rows unlabelled
        import numpy as np
        rng = np.random.default_rng(0)
        np.savez(tmp/'my_arrays.npz', x=rng.normal(size=(60, 20)).astype(np.float32), y=np.r_[np.arange(30) % 3, -np.ones(30, int)])
        return ['--data.init_args.path', tmp/'my_arrays.npz']
    return []

def test_all_configs_are_covered():
    assert len(CONFIGS) >= 10, CONFIGS
    # pipeline configs run end to end (with short rounds) in test_pipeline.py
    assert PIPELINES == ['digits_pipeline.yaml', 'digits_shift_pipeline.yaml', 'mnist1d_pipeline.yaml',
                         'toyjets_shift_pipeline.yaml'], PIPELINES

@pytest.mark.parametrize('name', CONFIGS)
def test_config_fast_dev_run(name, tmp_path):
    weights = write_simclr_v1_checkpoint(tmp_path/'weights'/'resnet50-1x.pth') if name.startswith('imagenette') else None
    r = sscl('fit', '--config', ROOT/'configs'/name, '--trainer.fast_dev_run', 'true',
             '--trainer.default_root_dir', tmp_path/'run', '--data.init_args.batch_size', 4, *overrides(name, tmp_path),
             env={'SSCL_WEIGHTS': str(weights.parent)} if weights else None)
    assert r.returncode == 0, f'{name} failed:\n{r.stderr[-4000:]}'

def test_synthetic_benchmark_trains_supcon_on_one_view():
    """The data module's defaults (one view, labels) survive the command line's resolved config. They did not: the
    parent's defaults were filled in, and the benchmark trained SimCLR on two identical views."""
    r = sscl('fit', '--config', ROOT/'configs'/'synthetic_supcon.yaml', '--print_config')
    assert r.returncode == 0, r.stderr[-2000:]
    data = yaml.safe_load(r.stdout)['data']['init_args']
    assert (data['mode'], data['n_views']) == ('labels', 1), data

def test_environment_yml_pins_match_settings(root):
    "slurm/environment.yml (mamba on Cannon) asks conda-forge for the same version ranges as settings.ini."
    import configparser
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    cfg = configparser.ConfigParser(); cfg.read(root/'settings.ini')
    reqs = {Requirement(r).name.lower(): Requirement(r).specifier for r in cfg['DEFAULT']['requirements'].split()}
    env = yaml.safe_load((root/'slurm'/'environment.yml').read_text())
    conda = [d for d in env['dependencies'] if isinstance(d, str)]
    conda_name = {'pytorch': 'torch'}  # conda-forge's names for PyPI's
    seen = set()
    for dep in conda:
        name, spec = re.match(r'([A-Za-z0-9_.-]+)(.*)', dep).groups()
        if name == 'python':
            assert SpecifierSet(spec).contains(cfg['DEFAULT']['min_python']), f'{dep} excludes min_python'
            continue
        pypi = conda_name.get(name, name).lower()
        if pypi == 'pip': continue
        assert pypi in reqs, f'environment.yml installs {name}, which settings.ini does not require'
        assert SpecifierSet(spec) == reqs[pypi], f'environment.yml pins {dep}; settings.ini says {pypi}{reqs[pypi]}'
        seen.add(pypi)
    assert {'torch', 'torchvision', 'lightning', 'numpy'} <= seen, seen
    pip = next(d['pip'] for d in env['dependencies'] if isinstance(d, dict))
    assert pip == ['-e ..'], 'sscl itself is installed from the checkout (pip -e ..), with the rest of its requirements'
