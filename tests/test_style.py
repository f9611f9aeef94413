"The house style and the layers, held: see `tests/style.py` for how each number is measured."
import ast
import pytest
import style

# Each module's layer: a module may import only modules of a lower layer (documented in nbs/index.ipynb, "Design").
LAYERS = {'io': 0, 'plots': 1,
          'losses': 2, 'align': 2, 'measure': 2, 'augment': 2, 'encoders': 2, 'evaluate': 2, 'discovery': 2, 'semisup': 2,
          'pairs': 3, 'model': 4, 'jets': 4, 'pipeline': 5, 'slurm': 5, 'cli': 6, 'commands': 0, '__main__': 7, '__init__': 0}


def sscl_imports(path) -> set[str]:
    "The sscl modules `path` imports, at the top or inside functions (`from .x`, `from sscl.x`, `import sscl.x`)."
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level == 1: out.add(mod.split('.')[0] if mod else '')
            elif mod.startswith('sscl.'): out.add(mod.split('.')[1])
            elif mod == 'sscl': out.update(a.name for a in node.names if a.name in LAYERS)
        elif isinstance(node, ast.Import):
            out.update(a.name.split('.')[1] for a in node.names if a.name.startswith('sscl.'))
    return out - {''}


def test_every_module_has_a_layer():
    test_names = {p.stem for p in style.modules()}
    assert test_names <= set(LAYERS), sorted(test_names - set(LAYERS))


@pytest.mark.parametrize('path', style.modules(), ids=lambda p: p.name)
def test_no_upward_import(path):
    own = LAYERS[path.stem]
    up = {m: LAYERS[m] for m in sscl_imports(path) if LAYERS.get(m, 99) >= own}
    assert not up, f'{path.name} (layer {own}) imports {up}'


def test_the_layer_check_sees_imports_inside_functions(tmp_path):
    f = tmp_path/'x.py'
    f.write_text('from .io import a\ndef f():\n    from sscl.cli import main\n    import sscl.model\n')
    assert sscl_imports(f) == {'io', 'cli', 'model'}


def test_no_joined_statements():
    bad = {k: v for k, v in style.measure()['joined'].items() if v}
    assert not bad, f'statements joined with ; at these lines: {bad}'


def test_no_code_past_column_120():
    bad = {k: v for k, v in style.measure()['long'].items() if v}
    assert not bad, f'code past column {style.LIMIT} at these lines: {bad}'


def test_every_exported_name_has_a_docstring():
    bad = {k: v for k, v in style.measure()['undocumented'].items() if v}
    assert not bad, f'no docstring: {bad}'


def test_the_measures_find_what_they_should():
    src = 'def f(x):\n    a = 1; b = 2\n    if a: c = 3; d = 4\n    return "' + 'x' * 130 + '"  # ' + 'y' * 130 + '\n'
    src += 'e = [' + ', '.join(['12345'] * 30) + ']\n'
    assert style.joined_lines(src) == [2, 3]
    assert style.long_lines(src) == [5]  # the long string and comment are allowed; the long list is not
    assert style.undocumented(src) == ['f']
    assert style.undocumented('@patch\ndef _g(self:X): return 1\n') == ['_g']


@pytest.mark.parametrize('path', style.notebooks(), ids=lambda p: p.name)
def test_exported_cells_are_checked_below(path):
    left = style.unchecked_exports(path)
    assert not left, f'{path.name}: no check or demonstration below {left}'


def test_the_check_finder_sees_a_missing_check(tmp_path):
    cell = lambda kind, src: {'cell_type': kind, 'metadata': {}, 'source': [src]}
    nb = {'cells': [cell('code', '#| export\ndef f(): pass'), cell('markdown', 'f above'),
                    cell('code', '#| export\ndef g(): pass'), cell('code', 'g()')]}
    (tmp_path/'01_x.ipynb').write_text(__import__('json').dumps(nb))
    assert style.unchecked_exports(tmp_path/'01_x.ipynb') == ['def f(): pass']


@pytest.mark.parametrize('path', style.notebooks(), ids=lambda p: p.name)
def test_imports_stand_in_cells_of_their_own(path):
    bad = style.mixed_import_cells(path)
    assert not bad, f'{path.name}: cells mixing imports with other code (the docs build runs them alone): {bad}'
