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

def tool_missing(reason:str):
    """Skip a test whose system tool (Chromium, SLURM) is absent, naming the install command in `reason`; with
    SSCL_REQUIRE_TOOLS=1 (set by .ci/run, which installs the tools) fail instead, so CI proves those tests ran."""
    if os.environ.get('SSCL_REQUIRE_TOOLS') == '1': pytest.fail(f'SSCL_REQUIRE_TOOLS=1 but {reason}')
    pytest.skip(reason)

@pytest.fixture(scope='session')
def root() -> Path:
    "The repository root."
    return ROOT
