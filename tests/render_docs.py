"""Render the documentation without Quarto: process the notebooks exactly as `nbdev_docs` does (nbdev's
`proc_nbs`: frontmatter, `show_doc` sections, hidden cells removed), turn each processed notebook into Pandoc
markdown (the dialect nbdev writes for Quarto: `[source](...){target="_blank"}` attributes, `$math$`) and convert
it with Pandoc to HTML with MathML (math that renders offline), inside a page with a sidebar built from
`nbs/sidebar.yml`, the file Quarto's sidebar reads. Links to notebooks become links to their pages, as Quarto
makes them. Where Quarto is installed, `nbdev_docs` is the real site build; this is what can be checked without it.

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

def _fence(text:str, cls:str='') -> str:
    "A fenced block that no backtick run inside `text` can close."
    ticks = '`' * max(3, 1 + max((len(m) for m in re.findall(r'`+', text)), default=0))
    return f'{ticks}{cls}\n{text.rstrip()}\n{ticks}'

def _directives(src:str) -> dict:
    "The `#| key: value` lines of a code cell."
    return {k.strip(): v.strip() for k, v in re.findall(r'^#\|\s*([\w-]+)\s*:\s*(.*)$', src, flags=re.M)}

ANSI = re.compile(r'\x1b\[[0-9;]*m')

def output_markdown(o:dict) -> str:
    "One cell output as Pandoc markdown: markdown as is, HTML raw, images inline, text in a plain block."
    if o['output_type'] == 'stream': return _fence(ANSI.sub('', ''.join(o['text'])), ' {.cell-output}')
    if o['output_type'] == 'error': return _fence(ANSI.sub('', '\n'.join(o['traceback'])), ' {.cell-output}')
    d = o.get('data', {})
    if 'text/markdown' in d: return ''.join(d['text/markdown'])
    if 'image/png' in d: return f'![](data:image/png;base64,{"".join(d["image/png"]).strip()})'
    if 'image/svg+xml' in d: return _fence(''.join(d['image/svg+xml']), '{=html}')
    if 'text/html' in d: return _fence(''.join(d['text/html']), '{=html}')
    if 'text/plain' in d: return _fence(ANSI.sub('', ''.join(d['text/plain'])), ' {.cell-output}')
    return ''

def notebook_markdown(nb:dict) -> str:
    "A processed notebook as one Pandoc markdown document (no prompts; `echo: false` hides a cell's code)."
    parts = []
    cells = nb['cells'][1:] if nb['cells'] and nb['cells'][0]['cell_type'] == 'raw' else nb['cells']  # frontmatter
    for c in cells:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(src)
        if c['cell_type'] != 'code': continue
        opts = _directives(src)
        code = ''.join(l for l in src.splitlines(True) if not l.startswith('#|')).strip()
        if code and opts.get('echo') != 'false': parts.append(_fence(code, ' {.python}'))
        if opts.get('output') != 'false': parts += [output_markdown(o) for o in c.get('outputs', [])]
    return '\n\n'.join(p for p in parts if p.strip()) + '\n'

def pandoc_html(md:str) -> str:
    "Pandoc markdown -> an HTML fragment, math as MathML."
    exe = shutil.which('pandoc')
    if not exe: raise FileNotFoundError('pandoc is not installed: apt-get install pandoc (.ci/run installs it)')
    r = subprocess.run([exe, '-f', 'markdown', '-t', 'html5', '--mathml', '--wrap=none'], input=md,
                       capture_output=True, text=True, timeout=300)
    if r.returncode: raise RuntimeError(f'pandoc failed: {r.stderr}')
    return r.stdout

def page_name(rel:str, fm:dict) -> str:
    "Where a notebook's page goes, as Quarto puts it: `output-file`, else the notebook's path with .html."
    return str(Path(rel).parent/fm['output-file']) if fm.get('output-file') else str(Path(rel).with_suffix('.html'))

def _href(target:str, current:str) -> str:
    "The link from page `current` to page `target` (both relative to the site root)."
    return os.path.relpath(target, os.path.dirname(current) or '.')

def sidebar_html(side:list, pages:dict, current:str) -> str:
    "The sidebar of `nbs/sidebar.yml`: pages and titled sections, the current page marked."
    def item(rel):
        page, title = pages[rel]
        mark = ' aria-current="page"' if page == current else ''
        return f'<li><a href="{_href(page, current)}"{mark}>{html.escape(title)}</a></li>'
    rows = []
    for e in side:
        if isinstance(e, dict):
            inner = ''.join(item(r) for r in e['contents'])
            rows.append(f'<li class="section"><span>{html.escape(e["section"])}</span><ul>{inner}</ul></li>')
        else: rows.append(item(e))
    home = _href('index.html', current)
    return f'<nav id="sscl-nav"><a class="brand" href="{home}">sscl</a><ul>{"".join(rows)}</ul></nav>'

def header_html(fm:dict) -> str:
    "The title block Quarto makes from the frontmatter."
    desc = f'<p class="description">{html.escape(fm["description"])}</p>' if fm.get('description') else ''
    return f'<header id="title-block-header"><h1 class="title">{html.escape(fm.get("title", ""))}</h1>{desc}</header>'

PAGE_CSS = """body{margin:0;font-family:system-ui,sans-serif;line-height:1.5;color:#222}
#sscl-nav{position:fixed;top:0;left:0;bottom:0;width:15rem;overflow-y:auto;padding:1rem;background:#f6f7f9;
border-right:1px solid #ddd;font-size:.9rem}#sscl-nav ul{list-style:none;padding-left:0;margin:0}
#sscl-nav li{margin:.2rem 0}#sscl-nav .section>span{display:block;margin-top:.8rem;font-weight:600}
#sscl-nav .section ul{padding-left:.8rem}#sscl-nav a{color:#1a5fb4;text-decoration:none}
#sscl-nav a[aria-current]{font-weight:700}#sscl-nav .brand{font-size:1.3rem;font-weight:700;color:#222}
main{margin-left:17rem;max-width:60rem;padding:1rem 2rem}pre{background:#f4f4f4;padding:.6rem;overflow-x:auto}
pre.cell-output{background:none;border-left:2px solid lightsalmon}img{max-width:100%}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem}"""

def page_html(title:str, body:str, nav:str, fm:dict, depth:int) -> str:
    "A whole page: head, sidebar, title block and the converted notebook."
    css = '../' * depth + 'styles.css'
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<style>{PAGE_CSS}</style><link rel="stylesheet" href="{css}"></head>'
            f'<body>{nav}<main>{header_html(fm)}{body}</main></body></html>\n')

def sidebar_entries(nbs_path:Path) -> list:
    "The sidebar of `nbs/sidebar.yml` as written: notebook paths and {'section', 'contents'} dicts."
    import yaml
    return yaml.safe_load((nbs_path/'sidebar.yml').read_text())['website']['sidebar']['contents']

def sidebar_order(nbs_path:Path) -> list[str]:
    "Every notebook of the sidebar, in order."
    out = []
    for e in sidebar_entries(nbs_path): out += e['contents'] if isinstance(e, dict) else [e]
    return out

def _local_links(body:str, rel:str, pages:dict) -> str:
    """Links to notebooks (`x.ipynb`, `../x.ipynb#a`) point at those notebooks' pages, as Quarto makes them (a module
    notebook's page is named by its `output-file`: 09_slurm.ipynb -> slurm.html)."""
    here = os.path.dirname(rel)
    def fix(m):
        nb = os.path.normpath(os.path.join(here, m.group(1) + '.ipynb'))
        if nb not in pages: return m.group(0)  # not a page of the site: left as it is, and the tests say so
        return f'href="{_href(pages[nb][0], pages[rel][0])}{m.group(2) or ""}"'
    return re.sub(r'href="(?![a-z]+:|#)([^"#]+)\.ipynb(#[^"]*)?"', fix, body)

def render(out:Path, root:Path=ROOT) -> dict[str, dict]:
    "Render every notebook listed in the sidebar to `out/<path>.html`; returns {page: {'title', 'notebook'}}."
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc = process_notebooks(root, Path(tmp))
        entries = {}
        for rel in sidebar_order(root/'nbs'):
            nb = json.loads((proc/rel).read_text())
            fm = frontmatter(nb)
            entries[rel] = (nb, page_name(rel, fm), fm)
        pages = {rel: (page, 'Home' if page == 'index.html' else fm.get('title', rel))
                 for rel, (_, page, fm) in entries.items()}
        side = sidebar_entries(root/'nbs')
        info = {}
        for rel, (nb, page, fm) in entries.items():
            title = fm.get('title', rel)
            body = _local_links(pandoc_html(notebook_markdown(nb)), rel, pages)
            (out/page).parent.mkdir(parents=True, exist_ok=True)
            (out/page).write_text(page_html(title, body, sidebar_html(side, pages, page), fm, page.count('/')))
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
