"""Render the documentation without Quarto: process the notebooks exactly as `nbdev_docs` does (nbdev's
`proc_nbs`: frontmatter, `show_doc` sections, hidden cells removed), convert each processed notebook to HTML
with nbconvert, and add a navigation bar built from `nbs/sidebar.yml`, the same file Quarto's sidebar reads.
Where Quarto is installed, `nbdev_docs` is the real site build; this is what can be checked without it.

usage: python tests/render_docs.py [OUT_DIR]   (default: _build/html)
       python tests/render_docs.py --readme     (README.md from nbs/index.ipynb, as `nbdev_readme` would)"""
import html, json, os, re, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def process_notebooks(root:Path, work:Path) -> Path:
    "Copy the project to `work` and run nbdev's docs processing there; returns the `_proc` folder."
    repo = work/'repo'
    shutil.copytree(root, repo, ignore=shutil.ignore_patterns('.git', '_proc', '_docs', '_build', '__pycache__', 'runs', '*.egg-info'))
    code = 'from nbdev.serve import proc_nbs; proc_nbs(force=True, n_workers=0)'
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}  # set by nbdev's test_nb; nbdev skips work under it
    r = subprocess.run([sys.executable, '-c', code], cwd=repo, capture_output=True, text=True, timeout=600, env=env)
    if r.returncode: raise RuntimeError(f'nbdev proc_nbs failed:\n{r.stdout}\n{r.stderr}')
    return repo/'_proc'

def frontmatter(nb:dict) -> dict:
    "The YAML frontmatter nbdev writes into the first raw cell."
    import yaml
    c = nb['cells'][0]
    if c['cell_type'] != 'raw': return {}
    return yaml.safe_load(''.join(c['source']).strip().strip('-')) or {}

def strip_for_nbconvert(nb:dict) -> dict:
    "Drop the keys nbdev and execnb add that the notebook schema rejects (`has_sd`, execution timing)."
    nb['metadata'].pop('has_sd', None)
    if nb['cells'] and nb['cells'][0]['cell_type'] == 'raw': nb['cells'] = nb['cells'][1:]  # the frontmatter
    for c in nb['cells']:
        c.pop('has_sd', None)
        if c['cell_type'] == 'code':  # Quarto hides `#|` directives, and the whole input under `echo: false`
            src = ''.join(c['source'])
            if re.search(r'^#\|\s*echo:\s*false', src, flags=re.M): c.setdefault('metadata', {})['tags'] = ['remove_input']
            c['source'] = ''.join(l for l in src.splitlines(True) if not l.startswith('#|'))
        c.get('metadata', {}).pop('execution', None)
        for o in c.get('outputs', []): o.get('metadata', {}).pop('execution', None)
    return nb

def page_name(nb_path:Path, fm:dict) -> str:
    return fm.get('output-file') or nb_path.with_suffix('.html').name

def nav_html(pages:list[tuple[str, str]], current:str) -> str:
    links = ''.join(f'<li style="display:inline;margin-right:1.2em"><a href="{href}"{" aria-current=page" if href == current else ""}>{html.escape(t)}</a></li>'
                    for href, t in pages)
    return (f'<nav id="sscl-nav" style="padding:.5em 1em;border-bottom:1px solid #ccc;font-family:sans-serif">'
            f'<strong style="margin-right:1.5em">sscl</strong><ul style="display:inline;list-style:none;padding:0">{links}</ul></nav>')

def header_html(fm:dict) -> str:
    "The title block Quarto makes from the frontmatter."
    desc = f'<p class="description">{html.escape(fm["description"])}</p>' if fm.get('description') else ''
    return f'<header id="title-block-header"><h1 class="title">{html.escape(fm.get("title", ""))}</h1>{desc}</header>'

def sidebar_order(nbs_path:Path) -> list[str]:
    import yaml
    side = yaml.safe_load((nbs_path/'sidebar.yml').read_text())['website']['sidebar']['contents']
    out = []
    for e in side: out += e['contents'] if isinstance(e, dict) else [e]
    return out

def render(out:Path, root:Path=ROOT) -> dict[str, dict]:
    "Render every notebook listed in the sidebar to `out/*.html`; returns {page: {'title', 'notebook'}}."
    import nbformat
    from nbconvert import HTMLExporter
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc = process_notebooks(root, Path(tmp))
        entries = []
        for rel in sidebar_order(root/'nbs'):
            nb = json.loads((proc/rel).read_text())
            fm = frontmatter(nb)
            entries.append((rel, nb, page_name(proc/rel, fm), fm))
        pages = [(p, 'Home' if p == 'index.html' else fm.get('title', rel)) for rel, _, p, fm in entries]
        from traitlets.config import Config
        conf = Config({'TagRemovePreprocessor': {'enabled': True, 'remove_input_tags': ['remove_input']}})
        exporter = HTMLExporter(template_name='lab', config=conf)
        info = {}
        for rel, nb, page, fm in entries:
            title = fm.get('title', rel)
            node = nbformat.reads(json.dumps(strip_for_nbconvert(nb)), as_version=4)
            nbformat.validate(node)
            body, _ = exporter.from_notebook_node(node, resources={'metadata': {'name': title}})
            body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + nav_html(pages, page) + header_html(fm), body, count=1)
            (out/page).write_text(body)
            info[page] = {'title': title, 'notebook': rel}
        shutil.copy(root/'nbs'/'styles.css', out/'styles.css')
    return info

def readme_text(root:Path=ROOT) -> str:
    "README.md from the markdown cells of `nbs/index.ipynb` (`nbdev_readme` does this with Quarto)."
    nb = json.loads((root/'nbs'/'index.ipynb').read_text())
    md = [''.join(c['source']).strip() for c in nb['cells'] if c['cell_type'] == 'markdown']
    return '\n\n'.join(['<!-- WARNING: THIS FILE WAS AUTOGENERATED FROM nbs/index.ipynb! DO NOT EDIT! -->', *md]) + '\n'

if __name__ == '__main__' and sys.argv[1:] == ['--readme']:
    (ROOT/'README.md').write_text(readme_text())
elif __name__ == '__main__':
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT/'_build'/'html'
    for page, i in render(out).items(): print(f'{out/page}  ({i["title"]})')
