"Small files in the real on-disk formats, and a runner for the `sscl` command, shared by the CLI tests."
import os, pickle, shutil, subprocess, sys
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parent.parent

def sscl(*args, env=None, timeout=600, cwd=None):
    "Run the installed `sscl` console script; returns the CompletedProcess."
    exe = shutil.which('sscl', path=str(Path(sys.executable).parent)) or shutil.which('sscl')
    full_env = {**os.environ, 'OMP_NUM_THREADS': '1', **(env or {})}
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd)

def write_imagenette(root:Path, per_class:int=3, size:str='imagenette2-320'):
    "A JPEG tree in Imagenette's layout: root/imagenette2-320/{train,val}/<WordNet id>/*.JPEG."
    from PIL import Image
    from sscl.pairs import IMAGENETTE_CLASSES
    rng = np.random.default_rng(0)
    for split, n in (('train', per_class), ('val', 1)):
        for c in IMAGENETTE_CLASSES:
            d = root/size/split/c; d.mkdir(parents=True, exist_ok=True)
            for i in range(n): Image.fromarray(rng.integers(0, 255, (48, 40, 3), dtype=np.uint8)).save(d/f'{c}_{i}.JPEG')
    return root

def write_cifar(root:Path, n:int=20):
    "CIFAR-10's python batch files (pickled dicts with uint8 'data' rows and 'labels')."
    d = root/'cifar-10-batches-py'; d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']:
        with open(d/name, 'wb') as f:
            pickle.dump({'batch_label': name, 'labels': (np.arange(n) % 10).tolist(),
                         'data': rng.integers(0, 255, (n, 3072), dtype=np.uint8), 'filenames': [f'{i}.png' for i in range(n)]}, f, protocol=2)
    with open(d/'batches.meta', 'wb') as f: pickle.dump({'label_names': [f'class{i}' for i in range(10)]}, f)
    return root

def write_simclr_v1_checkpoint(path:Path):
    "A checkpoint in the converted SimCLR v1 format (1x): a dict with 'state_dict' holding ResNet-50 keys, fc included."
    import torch, torchvision
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({'state_dict': torchvision.models.resnet50(weights=None).state_dict()}, path)
    return path

def run_main(argv:list, env:dict|None=None) -> tuple[int, str]:
    "`sscl ARGV` in this process (Lightning is imported once for all tests): the exit status and everything printed."
    import contextlib, io
    from sscl.commands import main
    out, old = io.StringIO(), {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try: rc = main([str(a) for a in argv])
            except SystemExit as e: rc = e.code if isinstance(e.code, int) else 1
    finally:
        for k, v in old.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v
    return rc, out.getvalue()
