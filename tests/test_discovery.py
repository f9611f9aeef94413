"""Calibration of the discovery tests under the null, at a size where a Kolmogorov-Smirnov test is meaningful:
200 null observations, each calibrated against 1,000 independent null toys (the calibration set must be large,
or its own fluctuation shifts every p-value together and no longer tests uniformity)."""
import numpy as np, torch
from scipy import stats
from sscl.discovery import NPLM, Mahalanobis, calibrate, significance

def null_pvalues(test, pool, seed):
    null = calibrate(test, pool, 200, 50, n_toys=1000, seed=seed, progress=False)
    obs = calibrate(test, pool, 200, 50, n_toys=200, seed=seed + 1, progress=False)
    return np.array([significance(t, null).p for t in obs])

def test_nplm_null_pvalues_are_uniform():
    pool = torch.tensor(np.random.default_rng(1).normal(size=(4000, 2)))
    nplm = NPLM(pool[:2000], percentiles=(25, 50, 75), M=20)
    p = null_pvalues(lambda r, d, n_expected: nplm.statistic(r, d, n_expected), pool, seed=11)
    assert stats.kstest(p, 'uniform').pvalue > 0.01
    lo, hi = stats.binom.interval(0.99, len(p), 0.05)
    assert lo <= (p < 0.05).sum() <= hi

def test_mahalanobis_null_pvalues_are_uniform():
    rng = np.random.default_rng(2)
    pool = torch.tensor(rng.normal(size=(4000, 3)))
    maha = Mahalanobis(pool[:2000], (pool[:2000, 0] > 0).long())
    p = null_pvalues(maha.statistic, pool, seed=21)
    assert stats.kstest(p, 'uniform').pvalue > 0.01
