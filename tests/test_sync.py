"The library and the notebooks are in step: `nbdev_export` and `nbdev_clean` change nothing."
import os, shutil, subprocess, sys
from pathlib import Path
from conftest import ROOT

def _snapshot(root:Path) -> dict[str, bytes]:
    files = [p for d in ('sscl', 'nbs') for p in (root/d).rglob('*')
             if p.is_file() and '__pycache__' not in p.parts and not any(s.startswith('.') for s in p.relative_to(root).parts)]
    return {str(p.relative_to(root)): p.read_bytes() for p in files}

def _copy(tmp:Path) -> Path:
    dst = tmp/'repo'
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns('.git', '_proc', '_docs', '_build', '__pycache__', '*.egg-info', 'runs'))
    return dst

def _run(cmd, cwd):
    bindir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}  # nbdev_export does nothing under IN_TEST
    r = subprocess.run([str(bindir/cmd)], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, f'{cmd} failed:\n{r.stdout}\n{r.stderr}'

def _changed(before, after):
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))

def test_export_and_clean_change_nothing(tmp_path):
    repo = _copy(tmp_path)
    before = _snapshot(repo)
    _run('nbdev_export', repo)
    changed = _changed(before, _snapshot(repo))
    assert not changed, f'nbdev_export changed {changed}: run nbdev_export and commit sscl/'
    _run('nbdev_clean', repo)
    changed = _changed(before, _snapshot(repo))
    assert not changed, f'nbdev_clean changed {changed}: run nbdev_clean and commit nbs/'

def test_check_detects_a_stale_library(tmp_path):
    "The check above can fail: a hand edit in sscl/ is undone by nbdev_export and reported."
    repo = _copy(tmp_path)
    (repo/'sscl'/'cli.py').write_text((repo/'sscl'/'cli.py').read_text() + '\n# hand edit\n')
    before = _snapshot(repo)
    _run('nbdev_export', repo)
    assert _changed(before, _snapshot(repo)) == ['sscl/cli.py']
