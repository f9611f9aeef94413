"""The attacks of the safety issue, each done for real: planted pickles and checkpoints, shell injection through
paths in a generated batch script (executed under bash with stub srun/sbatch), a folder of unrelated files given
to `--overwrite`, predict without a checkpoint into a trained run, two fits at once into one directory, resumes
after an edit. Each test asserts that nothing ran, nothing was lost, and the message names the cause."""
import json, os, pickle, shutil, signal, stat, subprocess, sys, time
from types import SimpleNamespace
from pathlib import Path
import numpy as np, pytest, torch, yaml
from helpers import ROOT, sscl, run_main, write_cifar
from test_cli_runs import tiny


class Planted:
    "A pickled object whose loading creates the file `target`: the proof that a load ran code."
    def __init__(self, target): self.target = str(target)
    def __reduce__(self): return (os.system, (f'touch {self.target}',))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "One finished tiny run (2 epochs), copied by `_fit` for each test that needs one."
    d = tmp_path_factory.mktemp('trained')
    cfg = tiny(d, epochs=2)
    rc, out = run_main(['fit', '--config', cfg])
    assert rc == 0, out[-3000:]
    return d


def _fit(tmp_path, trained):
    "A copy of the finished run in tmp_path/run; its config file."
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)
    cfg = tmp_path/'cfg.yaml'
    cfg.write_text(cfg.read_text().replace(str(trained), str(tmp_path)))
    return cfg


def sscl_main(*args, env=None):
    "`sscl ARGS` in this process, as a CompletedProcess-like (returncode, stdout, stderr: everything printed)."
    rc, out = run_main(list(args), env)
    return SimpleNamespace(returncode=rc, stdout=out, stderr=out)


def _one_line_error(r, cmd):
    "The command failed with one `sscl CMD: error:` line and no traceback."
    assert r.returncode != 0, r.stdout[-2000:]
    assert 'Traceback' not in r.stderr, r.stderr[-3000:]
    lines = [l for l in r.stderr.splitlines() if l.startswith(f'sscl {cmd}: error:')]
    assert len(lines) == 1, r.stderr[-3000:]
    return lines[0]


# --- code execution ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('check_md5', [True, False])
def test_planted_cifar_meta_never_runs(tmp_path, check_md5):
    from sscl.pairs import CIFAR10DataModule
    write_cifar(tmp_path/'c', n=10)
    with open(tmp_path/'c'/'cifar-10-batches-py'/'batches.meta', 'wb') as f: pickle.dump({'label_names': Planted(tmp_path/'pwned')}, f)
    with pytest.raises(ValueError, match='batches.meta' if check_md5 else 'asks for posix.system'):
        CIFAR10DataModule(root=str(tmp_path/'c'), check_md5=check_md5).setup()
    assert not (tmp_path/'pwned').exists()


def test_planted_cifar_batch_never_runs(tmp_path):
    from sscl.pairs import CIFAR10DataModule
    write_cifar(tmp_path/'c', n=10)
    with open(tmp_path/'c'/'cifar-10-batches-py'/'data_batch_2', 'wb') as f:
        pickle.dump({'data': Planted(tmp_path/'pwned'), 'labels': [0]}, f, protocol=2)
    with pytest.raises(ValueError, match='data_batch_2 was not loaded'): CIFAR10DataModule(root=str(tmp_path/'c'), check_md5=False).setup()
    assert not (tmp_path/'pwned').exists()


@pytest.mark.parametrize('how', [['fit', '--ckpt_path', 'last'], ['fit', '--ckpt_path', 'FILE'], ['predict', '--ckpt_path', 'FILE'],
                                 ['validate'], ['test', '--ckpt_path', 'FILE']])
def test_planted_checkpoint_never_runs_even_when_torch_is_told_to_unpickle(tmp_path, how, trained):
    cfg = _fit(tmp_path, trained)
    last = tmp_path/'run'/'checkpoints'/'last.ckpt'
    c = torch.load(last, map_location='cpu', weights_only=True)
    c['callbacks'] = {'x': Planted(tmp_path/'pwned')}
    torch.save(c, last)
    args = [str(last) if a == 'FILE' else a for a in how]
    r = sscl_main(args[0], '--config', cfg, *args[1:], '--trainer.max_epochs', 3, env={'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'})
    line = _one_line_error(r, args[0])
    assert str(last) in line and 'asks for posix.system' in line, line
    assert not (tmp_path/'pwned').exists()


def test_broken_checkpoint_is_one_line(tmp_path):
    cfg = tiny(tmp_path)
    (tmp_path/'junk.ckpt').write_bytes(b'this is not a checkpoint')
    line = _one_line_error(sscl_main('fit', '--config', cfg, '--ckpt_path', tmp_path/'junk.ckpt'), 'fit')
    assert 'junk.ckpt is not a readable PyTorch checkpoint' in line and 'weights_only=False' not in line


def _stub_bin(d:Path) -> Path:
    "srun and sbatch that only record their arguments, one per line, in d/<name>.args."
    d.mkdir()
    for name in ('srun', 'sbatch'):
        p = d/name
        p.write_text(f'#!/bin/bash\nfor a in "$@"; do printf "%s\\n" "$a"; done > {d}/{name}.args\n')
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return d


def _run_script(text:str, tmp_path:Path) -> subprocess.CompletedProcess:
    "Execute a generated batch script under bash with the stubs first on PATH, in tmp_path."
    script = tmp_path/'job.sbatch'; script.write_text(text)
    env = {**os.environ, 'PATH': f"{tmp_path/'bin'}:{os.environ['PATH']}", 'SLURM_ARRAY_TASK_ID': '1'}
    return subprocess.run(['bash', str(script)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)


SETTINGS = {'setup': '', 'defaults': {'partition': 'p', 'time': '00:10:00'}, 'partitions': {'p': {'gpus_per_node': 0, 'max_time': '01:00:00'}}}


@pytest.mark.parametrize('where', ['config name', 'run dir', 'sweep value'])
def test_batch_script_runs_no_command_smuggled_in_a_path(tmp_path, where):
    from sscl.slurm import plan_job, sbatch_script
    _stub_bin(tmp_path/'bin')
    c = yaml.safe_load((ROOT/'configs'/'digits_simclr.yaml').read_text())
    name, run, sweep = 'cfg.yaml', tmp_path/'run', []
    if where == 'config name': name = 'cfg$(touch PWNED)`touch PWNED2`;touch PWNED3;.yaml'
    if where == 'run dir': run = tmp_path/'runs;>PWNED;`>PWNED2`'
    if where == 'sweep value': sweep = ['model.temperature=0.1,$(touch PWNED)']
    c['trainer']['default_root_dir'] = str(run)
    cfg = tmp_path/name; cfg.write_text(yaml.safe_dump(c))
    job = plan_job(cfg, sweep=sweep, settings={**SETTINGS, 'source': 'test'})
    r = _run_script(sbatch_script(job), tmp_path)
    assert r.returncode == 0, r.stderr
    assert not list(tmp_path.glob('PWNED*')), 'a command smuggled in a path ran'
    args = (tmp_path/'bin'/'srun.args').read_text().splitlines()
    if where == 'config name': assert f'--config={cfg}' in args
    if where == 'run dir': assert f'--trainer.default_root_dir={run.resolve()}' in args
    if where == 'sweep value': assert '--model.temperature=$(touch PWNED)' in args


@pytest.mark.parametrize('run_dir, says', [("/tmp/r\ntouch PWNED", 'control character'), ('/tmp/my run', 'whitespace or %'),
                                           ('/tmp/r%j', 'whitespace or %'), ('$SSCL_NOT_SET_ANYWHERE/r', 'not set')])
def test_run_dirs_that_sbatch_lines_cannot_hold_are_refused(tmp_path, run_dir, says):
    "A newline in the run dir would start a new shell line in the script: refused; if it were not, running it must not run touch."
    from sscl.slurm import plan_job, sbatch_script
    _stub_bin(tmp_path/'bin')
    c = yaml.safe_load((ROOT/'configs'/'digits_simclr.yaml').read_text()); c['trainer']['default_root_dir'] = run_dir
    cfg = tmp_path/'cfg.yaml'; cfg.write_text(yaml.safe_dump(c))
    try: job = plan_job(cfg, settings={**SETTINGS, 'source': 'test'})
    except ValueError as e: assert says in str(e) and ('default_root_dir' in str(e) or 'run ' in str(e)), str(e)
    else:
        _run_script(sbatch_script(job), tmp_path)
        pytest.fail(f'accepted {run_dir!r}; PWNED exists: {(tmp_path/"PWNED").exists()}')
    assert not (tmp_path/'PWNED').exists()


@pytest.mark.parametrize('args, says', [(['--gpus', '0'], '--gpus 0: an integer >= 1'), (['--nodes', '-2'], '--nodes -2: an integer >= 1'),
                                        (['--time', 'soon'], "time 'soon' is not a SLURM time")])
def test_slurm_numbers_are_checked(tmp_path, args, says):
    s = tmp_path/'s.yaml'; s.write_text(yaml.safe_dump(SETTINGS))
    r = sscl_main('slurm', 'submit', '--config', ROOT/'configs'/'digits_simclr.yaml', '--settings', s, '--dry-run', *args)
    assert says in _one_line_error(r, 'slurm')


def test_slurm_time_is_written_stripped_and_job_name_is_plain(tmp_path):
    from sscl.slurm import plan_job, sbatch_script
    cfg = tmp_path/'my cfg;x.yaml'; shutil.copy(ROOT/'configs'/'digits_simclr.yaml', cfg)
    job = plan_job(cfg, time=' 00:30:00 \n', settings={**SETTINGS, 'source': 'test'})
    text = sbatch_script(job)
    assert '#SBATCH --time=00:30:00\n' in text and '#SBATCH --job-name=sscl-my_cfg_x\n' in text


# --- data loss --------------------------------------------------------------------------------------------------

def _pipeline(tmp_path, out, **extra):
    "A tiny two-round pipeline over the tiny array data."
    base = tiny(tmp_path, epochs=1, name='base.yaml')
    p = {'dir': str(out), 'base': base.name, 'labels': {'labels_per_class': 3}, 'evaluate': {'method': 'knn', 'k': 3},
         'pseudo_label': {'method': 'knn', 'k': 3, 'threshold': 0.0}, 'round2': {'init': 'round1'}, **extra}
    (tmp_path/'p.yaml').write_text(yaml.safe_dump(p))
    return tmp_path/'p.yaml'


def _tree(d:Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob('*')) if p.is_file()}


def test_pipeline_overwrite_never_deletes_a_folder_sscl_did_not_make(tmp_path):
    out = tmp_path/'mine'; (out/'sub').mkdir(parents=True)
    (out/'thesis.tex').write_text('years of work'); (out/'sub'/'data.npz').write_bytes(b'data')
    before = _tree(out)
    line = _one_line_error(sscl_main('pipeline', '--config', _pipeline(tmp_path, out), '--overwrite'), 'pipeline')
    assert 'is not marked as an sscl pipeline directory' in line and str(out) in line
    assert _tree(out) == before


def test_pipeline_typo_is_named_before_anything_is_deleted_or_trained(tmp_path):
    out = tmp_path/'pipe'
    (out).mkdir(); (out/'.sscl').write_text(json.dumps({'kind': 'pipeline'})); (out/'report.md').write_text('old report')
    cfg = _pipeline(tmp_path, out, round2={'init': 'round1', 'model.temprature': 0.5})
    r = sscl_main('pipeline', '--config', cfg, '--overwrite')
    assert 'round2 of the pipeline does not parse' in r.stderr and 'temprature' in r.stderr, r.stderr[-3000:]
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    assert (out/'report.md').read_text() == 'old report' and not (out/'round1').exists()


def test_pipeline_resume_after_an_edit_is_refused_and_reports_the_file_used(tmp_path):
    out = tmp_path/'pipe'
    cfg = _pipeline(tmp_path, out)
    r = sscl_main('pipeline', '--config', cfg)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((out/'report.json').read_text())['pseudo_labels']['round2']
    f = np.load(out/'pseudo_labels_round2.npz')
    assert report['kept'] == int(f['keep'].sum())
    p = yaml.safe_load(cfg.read_text())
    p['round1'] = {'model.temperature': 0.5}; cfg.write_text(yaml.safe_dump(p))
    line = _one_line_error(sscl_main('pipeline', '--config', cfg, '--resume'), 'pipeline')
    assert 'round1 ran with another config (model.temperature changed since)' in line
    p.pop('round1'); p['pseudo_label']['k'] = 5; cfg.write_text(yaml.safe_dump(p))
    line = _one_line_error(sscl_main('pipeline', '--config', cfg, '--resume'), 'pipeline')
    assert 'pseudo_labels_round2.npz was made with' in line and "'k': 3" in line
    p['pseudo_label']['k'] = 3; cfg.write_text(yaml.safe_dump(p))
    r = sscl_main('pipeline', '--config', cfg, '--resume')
    assert r.returncode == 0 and 'finished earlier, kept' in r.stdout, r.stderr[-3000:]


def test_predict_without_checkpoint_leaves_the_trained_run_alone(tmp_path, trained):
    cfg = _fit(tmp_path, trained)
    run = tmp_path/'run'
    before = {f: (run/f).read_bytes() for f in ('config.yaml', 'embeddings/test.npz', 'embeddings/train.npz', 'metrics.csv', 'results.json')}
    r = sscl_main('predict', '--config', cfg)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"using {run/'checkpoints'/'last.ckpt'}" in r.stderr
    assert f"wrote {run/'predict'/'test.npz'}" in r.stdout
    assert {f: (run/f).read_bytes() for f in before} == before
    new, old = np.load(run/'predict'/'test.npz'), np.load(run/'embeddings'/'test.npz')  # the same weights: the same embedding
    np.testing.assert_array_equal(new['idx'], old['idx']); np.testing.assert_allclose(new['h'], old['h'], atol=1e-6)
    for sub in ('validate', 'test'):
        r = sscl_main(sub, '--config', cfg)
        assert r.returncode == 0, r.stderr[-3000:]
    assert {f: (run/f).read_bytes() for f in before} == before
    r = sscl_main('predict', '--config', cfg, '--output', tmp_path/'elsewhere', '--data.init_args.predict_split', 'val')
    assert r.returncode == 0 and (tmp_path/'elsewhere'/'val.npz').exists(), r.stderr[-3000:]


def test_predict_with_no_trained_checkpoint_stops(tmp_path):
    cfg = tiny(tmp_path)
    line = _one_line_error(sscl_main('predict', '--config', cfg), 'predict')
    assert 'needs a trained checkpoint' in line and str(tmp_path/'run'/'checkpoints'/'last.ckpt') in line
    assert not (tmp_path/'run').exists()


def test_second_fit_into_a_finished_run_is_refused_then_overwrite_starts_over(tmp_path, trained):
    cfg = _fit(tmp_path, trained)
    run = tmp_path/'run'
    (run/'notes.txt').write_text('mine')
    before = _tree(run)
    line = _one_line_error(sscl_main('fit', '--config', cfg), 'fit')
    assert 'already holds a run' in line and '--overwrite' in line and '--ckpt_path last' in line
    assert _tree(run) == before
    r = sscl_main('fit', '--config', cfg, '--overwrite')
    assert r.returncode == 0, r.stderr[-3000:]
    assert not list((run/'checkpoints').glob('last-v*.ckpt')) and (run/'notes.txt').read_text() == 'mine'


def test_fit_into_a_folder_of_someone_elses_files_is_refused(tmp_path):
    cfg = tiny(tmp_path)
    (tmp_path/'run').mkdir(); (tmp_path/'run'/'config.yaml').write_text('not sscl')
    line = _one_line_error(sscl_main('fit', '--config', cfg, '--overwrite'), 'fit')
    assert 'is not marked as an sscl run' in line
    assert (tmp_path/'run'/'config.yaml').read_text() == 'not sscl'


def test_two_fits_at_once_the_second_is_refused_naming_the_first(tmp_path):
    cfg = tiny(tmp_path, epochs=200)
    first = subprocess.Popen([shutil.which('sscl', path=str(Path(sys.executable).parent)), 'fit', '--config', str(cfg)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    lock, t0 = tmp_path/'run'/'.sscl.lock', time.time()
    while not lock.exists() and time.time() - t0 < 120: time.sleep(0.1)
    try:
        line = _one_line_error(sscl_main('fit', '--config', cfg, '--overwrite'), 'fit')
        assert f'process {first.pid}' in line and 'in use by another sscl command' in line
    finally:  # stop it once it trains (Lightning's SIGTERM handler in place): it saves, releases the lock and exits
        last = tmp_path/'run'/'checkpoints'/'last.ckpt'
        while not last.exists() and first.poll() is None and time.time() - t0 < 180: time.sleep(0.1)
        first.send_signal(signal.SIGTERM); first.communicate(timeout=120)
    assert not lock.exists()
    from sscl.io import load_checkpoint  # the first run's checkpoint is whole
    assert load_checkpoint(tmp_path/'run'/'checkpoints'/'last.ckpt')['global_step'] > 0


def test_temporary_files_of_an_interrupted_write_are_cleaned_up(tmp_path, trained):
    cfg = _fit(tmp_path, trained)
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True).stdout.strip()
    left = [tmp_path/'run'/'checkpoints'/f'.last.ckpt.{dead}.sscl-tmp', tmp_path/'run'/'embeddings'/f'.test.npz.{dead}.sscl-tmp']
    for p in left: p.write_bytes(b'half written')
    r = sscl_main('fit', '--config', cfg, '--ckpt_path', 'last', '--trainer.max_epochs', 2)
    assert r.returncode == 0, r.stderr[-3000:]
    assert not any(p.exists() for p in left)


# --- silent wrong results ---------------------------------------------------------------------------------------

def test_checkpoint_hyperparameters_never_silently_replace_an_option(tmp_path, trained):
    cfg = _fit(tmp_path, trained)
    line = _one_line_error(sscl_main('fit', '--config', cfg, '--ckpt_path', 'last', '--model.temperature', 0.9, '--trainer.max_epochs', 2), 'fit')
    assert '--model.temperature would be ignored' in line and 'temperature=0.1' in line
    (tmp_path/'hot.yaml').write_text(cfg.read_text().replace('plot_every_n_epochs: 0', 'plot_every_n_epochs: 0\n  temperature: 0.5'))
    last = tmp_path/'run'/'checkpoints'/'last.ckpt'
    r = sscl_main('fit', '--config', tmp_path/'hot.yaml', '--ckpt_path', last, '--trainer.max_epochs', 2)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "model.temperature=0.1 (the config says 0.5); the checkpoint's values are used" in r.stderr
    assert (tmp_path/'run'/'config.resume.yaml').exists()


@pytest.mark.parametrize('key, value, says', [
    ('batch_size', 1, 'batch_size=1: a contrastive batch needs at least 2 samples'),
    ('n_views', 1, "n_views=1: 'views' mode needs at least 2 views"),
    ('labels_per_class', 0, 'labels_per_class=0: an integer >= 1'),
    ('labels_per_class', -2, 'labels_per_class=-2: an integer >= 1'),
])
def test_settings_that_cannot_learn_are_errors(tmp_path, key, value, says):
    cfg = tiny(tmp_path)
    line = _one_line_error(sscl_main('fit', '--config', cfg, f'--data.init_args.{key}', value), 'fit')
    assert says in line, line


@pytest.mark.parametrize('bad', ['nan_test_row', 'float_labels'])
def test_bad_arrays_are_errors(tmp_path, bad):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype(np.float32); y = np.arange(120) % 3
    if bad == 'nan_test_row': x[7, 2] = np.nan
    cfg = tiny(tmp_path)
    np.savez(tmp_path/'data.npz', x=x, y=y + 0.5 if bad == 'float_labels' else y)
    line = _one_line_error(sscl_main('fit', '--config', cfg), 'fit')
    assert ('hold NaN or infinite inputs' if bad == 'nan_test_row' else 'must be integer class ids') in line, line


def test_encoder_projector_mismatch_is_one_line(tmp_path):
    cfg = tiny(tmp_path)
    r = sscl_main('fit', '--config', cfg, '--model.projector', 'sscl.encoders.MLP', '--model.projector.input_dim', 8,
             '--model.projector.hidden_dims', '[8]', '--model.projector.output_dim', 4)
    assert 'model.projector takes inputs of size 8' in _one_line_error(r, 'fit')


@pytest.mark.parametrize('cmd', ['pipeline', 'discover'])
def test_yaml_syntax_errors_name_the_file_and_line(tmp_path, cmd):
    (tmp_path/'c.yaml').write_text('dir: x\nbase: [a, b\nother: 1\n')
    line = _one_line_error(sscl_main(cmd, '--config', tmp_path/'c.yaml'), cmd)
    assert f"{tmp_path/'c.yaml'} is not valid YAML at line" in line


def test_sweep_yaml_error_is_named(tmp_path):
    s = tmp_path/'s.yaml'; s.write_text(yaml.safe_dump(SETTINGS))
    r = sscl_main('slurm', 'submit', '--config', ROOT/'configs'/'digits_simclr.yaml', '--settings', s, '--dry-run', '--sweep', 'model.temperature=[0.1')
    assert "--sweep 'model.temperature=[0.1'" in _one_line_error(r, 'slurm')


@pytest.mark.parametrize('key, value', [('n_ref', -5), ('fractions', [0.0, -0.1]), ('n_toys', 0)])
def test_discover_values_that_cannot_calibrate_are_errors(tmp_path, key, value):
    cfg = {'embeddings': str(tmp_path/'e.npz'), 'signal_classes': [1], key: value}
    (tmp_path/'d.yaml').write_text(yaml.safe_dump(cfg))
    assert f'{key}={value!r}' in _one_line_error(sscl_main('discover', '--config', tmp_path/'d.yaml'), 'discover')
