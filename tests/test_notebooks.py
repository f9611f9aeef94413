"Every notebook in nbs/ is a test: its cells run top to bottom with nbdev's test flags."
import json
from pathlib import Path
import pytest
from conftest import ROOT
from nbrun import run_notebook, skip_flags

NOTEBOOKS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb')
                   if not any(part.startswith(('_', '.')) for part in p.relative_to(ROOT/'nbs').parts))

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=[str(p.relative_to(ROOT/'nbs')) for p in NOTEBOOKS])
def test_notebook(nb):
    ok, msg = run_notebook(nb)
    assert ok, f'notebook {nb.relative_to(ROOT)} failed:\n{msg}'

def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2, NOTEBOOKS

def _write_nb(path:Path, sources:list[str]):
    cells = [dict(cell_type='code', metadata={}, source=s, outputs=[], execution_count=None) for s in sources]
    path.write_text(json.dumps(dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5)))

def test_failing_notebook_names_notebook_and_cell(tmp_path):
    "A notebook that fails is reported with its file name and the number of the failing cell."
    nb = tmp_path/'broken.ipynb'
    _write_nb(nb, ['x = 1', 'assert x == 2, "x is not two"', 'y = 3'])
    ok, msg = run_notebook(nb, flags=[])
    assert not ok
    assert 'broken.ipynb' in msg and 'Cell #2' in msg and 'x is not two' in msg

def test_flagged_cells_are_skipped_like_nbdev_test(tmp_path):
    nb = tmp_path/'flagged.ipynb'
    _write_nb(nb, ['#| slow\nraise RuntimeError("slow cell ran")', '#| gpu\nraise RuntimeError("gpu cell ran")'])
    assert set(skip_flags()) >= {'slow', 'gpu'}
    assert run_notebook(nb)[0]
    ok, msg = run_notebook(nb, flags=['gpu'])
    assert not ok and 'slow cell ran' in msg
