"Shared test setup: one torch thread (2-core machines stall otherwise) and paths to the checkout."
import os
for _v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'): os.environ.setdefault(_v, '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
from pathlib import Path
import pytest

try:
    import torch
    torch.set_num_threads(1)
except ImportError: pass

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope='session')
def root() -> Path:
    "The repository root."
    return ROOT
