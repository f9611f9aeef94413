"""The house style, measured: `python tests/style.py` prints the numbers, `tests/test_style.py` holds the floor.

Measured on the exported modules (`sscl/*.py`, what a reader of the package sees) and on the notebooks
(what a reader of the docs sees). Everything is found with `ast` and `tokenize`, never with a regex over code.
"""
from __future__ import annotations
import ast, io, json, statistics, sys, tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 120


def modules() -> list[Path]:
    "The exported modules, without nbdev's generated index."
    return sorted(p for p in (ROOT/'sscl').glob('*.py') if p.name != '_modidx.py')


def _bodies(tree: ast.AST):
    "Every list of statements in `tree`: module, function, class and compound-statement bodies."
    for node in ast.walk(tree):
        for name in ('body', 'orelse', 'finalbody', 'handlers'):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], (ast.stmt, ast.excepthandler)): yield body
        if isinstance(node, ast.Match):
            for case in node.cases: yield case.body


def joined_lines(source: str) -> list[int]:
    "Line numbers where one statement follows another on the same line (`a; b`)."
    tree = ast.parse(source)
    return sorted({b.lineno for body in _bodies(tree) for a, b in zip(body, body[1:]) if b.lineno == a.end_lineno})


def long_lines(source: str, limit: int = LIMIT) -> list[int]:
    "Line numbers with code past column `limit`: strings and comments may run on; nbdev's generated `__all__` is not ours."
    code = (tokenize.NAME, tokenize.OP, tokenize.NUMBER)
    generated = {line for n in ast.parse(source).body if isinstance(n, ast.Assign)
                 and any(getattr(t, 'id', None) == '__all__' for t in n.targets) for line in range(n.lineno, n.end_lineno + 1)}
    toks = tokenize.generate_tokens(io.StringIO(source).readline)
    return sorted({t.end[0] for t in toks if t.type in code and t.end[1] > limit and t.start[0] not in generated})


def undocumented(source: str) -> list[str]:
    "Public functions and classes of a module, and `@patch`ed methods, without a docstring."
    out = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            patched = any(getattr(d, 'id', None) == 'patch' for d in getattr(node, 'decorator_list', []))
            if (patched or not node.name.startswith('_')) and ast.get_docstring(node) is None: out.append(node.name)
    return out


def notebooks() -> list[Path]:
    "The numbered notebooks: the ones that export a module."
    return sorted(p for p in (ROOT/'nbs').glob('[0-9]*.ipynb'))


def _cells(path: Path) -> list[tuple[str, str]]:
    "(kind, source) of each cell, kind 'export', 'code' or 'markdown'."
    out = []
    for c in json.loads(path.read_text())['cells']:
        src = ''.join(c['source'])
        first = src.lstrip().splitlines()[0] if src.strip() else ''
        kind = c['cell_type']
        if kind == 'code' and first.replace(' ', '') in ('#|export', '#|exports'): kind = 'export'
        if kind == 'code' and first.replace(' ', '').startswith('#|default_exp'): kind = 'markdown'  # no code of its own
        out.append((kind, src))
    return out


def unchecked_exports(path: Path) -> list[str]:
    "Exported cells (their first definition line) with no code cell after them before the next export."
    cells, out = _cells(path), []
    for i, (kind, src) in enumerate(cells):
        if kind != 'export': continue
        nxt = next((k for k, _ in cells[i + 1:] if k in ('export', 'code')), None)
        if nxt != 'code': out.append(next((l for l in src.splitlines()[1:] if l.strip()), '?')[:60])
    return out


def mixed_import_cells(path: Path) -> list[str]:
    "Shown code cells that import and do more: the docs build runs every cell with an import, without the rest."
    out = []
    for kind, src in _cells(path):
        first = src.lstrip().split('\n')[0].replace(' ', '')
        if kind != 'code' or first.startswith('#|hide') or 'nbdev_export()' in src: continue
        tree = ast.parse(src)
        if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree)) \
                and any(not isinstance(t, (ast.Import, ast.ImportFrom)) for t in tree.body):
            out.append(src.strip().split('\n')[0][:60])
    return out


def export_lengths() -> list[int]:
    "Lines of each exported cell, without the `#| export` line."
    return [len(src.strip().splitlines()) - 1 for p in notebooks() for kind, src in _cells(p) if kind == 'export']


def measure() -> dict:
    "The numbers of the house style, over all modules and notebooks."
    src = {p.name: p.read_text() for p in modules()}
    n_exports = len(export_lengths())
    unchecked = {p.name: unchecked_exports(p) for p in notebooks()}
    return {'joined': {k: joined_lines(s) for k, s in src.items()},
            'long': {k: long_lines(s) for k, s in src.items()},
            'undocumented': {k: undocumented(s) for k, s in src.items()},
            'unchecked': unchecked,
            'exports': n_exports,
            'checked_share': 1 - sum(map(len, unchecked.values())) / max(n_exports, 1),
            'median_export_lines': statistics.median(export_lengths()),
            'code_lines': sum(len(s.splitlines()) for s in src.values())}


if __name__ == '__main__':
    m = measure()
    for key in ('joined', 'long', 'undocumented', 'unchecked'):
        n = sum(map(len, m[key].values()))
        print(f"{key:<13} {n:>4}  " + ', '.join(f'{k} {len(v)}' for k, v in m[key].items() if v))
        if '-v' in sys.argv:
            for k, v in m[key].items():
                for x in v: print(f'    {k}: {x}')
    print(f"exported cells {m['exports']}, followed by a check {m['checked_share']:.0%}, "
          f"median length {m['median_export_lines']} lines; {m['code_lines']} lines in sscl/")
