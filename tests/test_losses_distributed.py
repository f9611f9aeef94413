"`SupConLoss(gather=True)` on 2 real gloo processes equals one process holding both batches."
import json, subprocess, sys
from conftest import ROOT

def test_two_processes_match_one():
    r = subprocess.run([sys.executable, str(ROOT/'tests'/'dist_loss_check.py')], capture_output=True, text=True,
                       timeout=300, env={'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin'})
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(res) == 3
    for case in res:
        assert case['grad_norm'] > 1e-3  # the comparison is of real gradients, not of zeros
        assert case['loss_diff'] < 1e-6, case
        assert case['grad_diff'] < 1e-6, case
