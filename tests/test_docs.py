"""The documentation: every exported symbol has its API section on its page; no page shows raw markup (Quarto's
`{target=...}` attributes, `$math$`, notebook prompts, Sphinx roles of inherited docstrings); every local link
resolves; the pages render in a real browser with their title and a sidebar holding every page and the Tutorials
section. Quarto's build (`nbdev_docs`) runs where Quarto is installed; without it the pages are rendered by
`render_docs.py` (nbdev's processing + Pandoc)."""
import importlib, os, re, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT, tool_missing
import render_docs

OUT = ROOT/'_build'/'html'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync']

@pytest.fixture(scope='module')
def site():
    if not shutil.which('pandoc'): tool_missing('pandoc is not installed: apt-get install pandoc (.ci/run installs it)')
    if OUT.exists(): shutil.rmtree(OUT)
    return render_docs.render(OUT)

def page_text(html:str) -> str:
    "A page's visible prose: code, math, scripts and styles removed, then the tags."
    prose = re.sub(r'<(pre|code|math|script|style)\b.*?</\1>', ' ', html, flags=re.S)
    return ' '.join(re.sub(r'<[^>]+>', ' ', prose).split())

RAW = {
    "Quarto's link attributes": r'\{target=',
    'TeX math left as text': r'\$[^$\s][^$]*?\$',
    'notebook prompts': r'\b(In|Out)\s*\[\s*\d*\s*\]:',
    'a Sphinx role (an inherited docstring)': r':(meth|class|func|attr|ref):`',
    "torch's inherited docstring": r'Call self as a function',
}

def test_pages_show_no_raw_markup(site):
    found = []
    for page in site:
        text = page_text((OUT/page).read_text())
        found += [f'{page}: {what}: ...{m.group(0)[:60]}...' for what, pat in RAW.items() for m in [re.search(pat, text)] if m]
    assert not found, 'raw markup on the pages:\n' + '\n'.join(found)
    assert '<math' in (OUT/'discovery.html').read_text()  # the discovery page's formulas, as MathML

def test_local_links_resolve(site):
    "Every link and image inside the site points at a page or file that exists, and at an anchor that exists."
    broken = []
    for page in site:
        html = (OUT/page).read_text()
        for ref in re.findall(r'(?:href|src)="([^"]+)"', html):
            if re.match(r'[a-z]+:', ref) or ref.startswith('#'): continue  # other sites, data: images, in-page
            path, _, anchor = ref.partition('#')
            target = ((OUT/page).parent/path).resolve()
            if not target.is_file(): broken.append(f'{page} -> {ref}')
            elif anchor and f'id="{anchor}"' not in target.read_text(): broken.append(f'{page} -> {ref} (no such anchor)')
    assert not broken, 'broken local links:\n' + '\n'.join(sorted(set(broken)))

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

def test_pages_render_in_chromium(site, tmp_path):
    "The index, a module page and a tutorial, as a browser shows them; screenshots left in _build/html/*.png."
    args = [chromium(), *CHROMIUM_FLAGS, f'--user-data-dir={tmp_path/"profile"}']
    module_pages = {t.split('#')[0] for t in exported_symbols().values()}
    tutorials = sorted(p for p in site if p.startswith('tutorials/'))
    assert tutorials, 'no tutorial pages'
    for page, title in (('index.html', 'sscl'), ('discovery.html', None), (tutorials[0], None)):
        url = (OUT/page).as_uri()
        dom = subprocess.run([*args, '--dump-dom', url], capture_output=True, text=True, timeout=120).stdout
        title = title or site[page]['title']
        assert f'<h1 class="title">{title}</h1>' in dom, f'{page} shows no title'
        nav = re.search(r'<nav id="sscl-nav".*?</nav>', dom, flags=re.S)
        assert nav, f'{page} has no sidebar'
        for target in module_pages | set(tutorials):
            href = os.path.relpath(target, os.path.dirname(page) or '.')
            assert f'href="{href}"' in nav.group(0), f'{page}: no link to {target}'
        assert '<span>Tutorials</span>' in nav.group(0), f'{page}: the Tutorials section is missing'
        shot = OUT/(page.replace('/', '_').removesuffix('.html') + '.png')
        subprocess.run([*args, f'--screenshot={shot}', '--window-size=1280,1000', url], capture_output=True, timeout=120)
        assert shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and shot.stat().st_size > 10_000

def test_quarto_site_builds_where_quarto_exists(tmp_path):
    "The real docs build: `nbdev_docs` needs Quarto, which cannot be installed on the CI machine."
    if not shutil.which('quarto'): pytest.skip('quarto is not on PATH: the nbdev_docs build is not checked here')
    repo = tmp_path/'repo'
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns('.git', '_proc', '_docs', '_build', '__pycache__'))
    r = subprocess.run([str(Path(sys.executable).parent/'nbdev_docs')], cwd=repo, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert (repo/'_docs'/'index.html').exists()

def test_github_workflows_are_nbdevs():
    "nbdev's standard workflows: CI (nbdev-ci: export/clean check and nbdev_test) and the Quarto site on GitHub Pages."
    import yaml
    wf = ROOT/'.github'/'workflows'
    steps = {f.name: yaml.safe_load(f.read_text())['jobs'] for f in sorted(wf.glob('*.yaml'))}
    assert steps['test.yaml']['test']['steps'] == [{'uses': 'fastai/workflows/nbdev-ci@master'}]
    assert steps['deploy.yaml']['deploy']['steps'] == [{'uses': 'fastai/workflows/quarto-ghp@master'}]
