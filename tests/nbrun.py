"""Run one notebook the way `nbdev_test` does (same skip flags), turning a failure into a message that names
the notebook and the cell. Used by `test_notebooks.py`; importable on its own for a quick check:
`python tests/nbrun.py nbs/00_losses.ipynb`."""
import contextlib, io, os, sys
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def skip_flags(root:Path=ROOT) -> list[str]:
    "The `tst_flags` of settings.ini minus those forced on by `SSCL_TEST_FLAGS` (e.g. 'slow gpu')."
    cfg = ConfigParser(delimiters=['=']); cfg.read(root/'settings.ini')
    flags = [f for f in cfg['DEFAULT'].get('tst_flags', '').split('|') if f]
    force = os.environ.get('SSCL_TEST_FLAGS', '').replace(',', ' ').split()
    return [f for f in flags if f not in force]

def run_notebook(path:Path, flags:list[str]|None=None) -> tuple[bool, str]:
    "Execute `path` with nbdev's `test_nb`; return (passed, error text naming notebook and cell)."
    import nbdev.test  # imported as a module so pytest never collects `test_nb` itself
    flags = skip_flags() if flags is None else flags
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        ok, _ = nbdev.test.test_nb(Path(path).resolve(), skip_flags=flags, showerr=True)
    return ok, err.getvalue()

if __name__ == '__main__':
    for p in sys.argv[1:]:
        ok, msg = run_notebook(Path(p))
        print(p, 'ok' if ok else f'FAILED\n{msg}')
