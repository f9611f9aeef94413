"""The documentation: every exported symbol has its API section on its page, and the index page renders in a
real browser with its title and a link to every module page. Quarto's build (`nbdev_docs`) runs where
Quarto is installed; without it the pages are rendered by `render_docs.py` (nbdev's processing + nbconvert)."""
import importlib, re, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT, tool_missing
import render_docs

OUT = ROOT/'_build'/'html'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync']

@pytest.fixture(scope='module')
def site():
    if OUT.exists(): shutil.rmtree(OUT)
    return render_docs.render(OUT)

def exported_symbols() -> dict[str, str]:
    """{'sscl.mod.name': 'page.html#anchor'} for every name in each module's `__all__` (nbdev's exports;
    methods are documented within their class's section)."""
    modidx = importlib.import_module('sscl._modidx')
    public = {mname: set(importlib.import_module(mname).__all__) for mname in modidx.d['syms']}
    return {sym: v[0] for mname, mod in modidx.d['syms'].items() for sym, v in mod.items()
            if sym[len(mname) + 1:] in public[mname]}

def test_every_symbol_has_its_api_section(site):
    syms = exported_symbols()
    assert syms, 'sscl exports nothing'
    missing = []
    for sym, target in syms.items():
        page, anchor = target.split('#')
        text = (OUT/page).read_text().lower() if (OUT/page).exists() else ''  # Quarto's anchors are lower case
        if not re.search(rf'<h[2-4][^>]*id="{re.escape(anchor.lower())}"', text): missing.append(f'{sym} -> {target}')
    assert not missing, 'API sections missing from the rendered pages:\n' + '\n'.join(missing)

def chromium() -> str:
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if not exe: tool_missing('headless Chromium is not installed: apt-get install chromium (.ci/run installs it)')
    return exe

def test_index_renders_in_chromium(site, tmp_path):
    args = [chromium(), *CHROMIUM_FLAGS, f'--user-data-dir={tmp_path/"profile"}']
    url = (OUT/'index.html').as_uri()
    dom = subprocess.run([*args, '--dump-dom', url], capture_output=True, text=True, timeout=120).stdout
    assert re.search(r'<h1 class="title">sscl</h1>', dom), 'the index page shows no title'
    nav = re.search(r'<nav id="sscl-nav".*?</nav>', dom, flags=re.S)
    assert nav, 'the index page has no navigation'
    module_pages = {t.split('#')[0] for t in exported_symbols().values()}
    for page in module_pages: assert f'href="{page}"' in nav.group(0), f'no navigation link to {page}'
    shot = OUT/'index.png'
    subprocess.run([*args, f'--screenshot={shot}', '--window-size=1200,900', url], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and shot.stat().st_size > 10_000

def test_quarto_site_builds_where_quarto_exists(tmp_path):
    "The real docs build: `nbdev_docs` needs Quarto, which cannot be installed on the CI machine."
    if not shutil.which('quarto'): pytest.skip('quarto is not on PATH: the nbdev_docs build is not checked here')
    repo = tmp_path/'repo'
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns('.git', '_proc', '_docs', '_build', '__pycache__'))
    r = subprocess.run([str(Path(sys.executable).parent/'nbdev_docs')], cwd=repo, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert (repo/'_docs'/'index.html').exists()
