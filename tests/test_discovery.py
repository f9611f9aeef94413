"""Calibration of the discovery tests.

Under the null, at a size where a Kolmogorov-Smirnov test is meaningful: 200 null observations, each calibrated
against 1,000 independent null toys (the calibration set must be large, or its own fluctuation shifts every p-value
together and no longer tests uniformity), for every test and every combination of widths.

Where the answer is known: statistics whose null law is known exactly (chi2 widths with a chosen correlation), the
true significance of an observation computed independently by twenty million toys, against the Z that the
calibration reports from 1,000 toys."""
import numpy as np, pytest, torch
from scipy import stats
from sscl.discovery import NPLM, MMD, Frechet, Mahalanobis, Calibration, calibrate, null_family, significance

def null_pvalues(test, pool, how='min'):
    null = calibrate(test, pool, 200, 50, n_toys=1000, seed=11, progress=False)
    obs = calibrate(test, pool, 200, 50, n_toys=200, seed=12, progress=False)
    cal = Calibration(null, null_family(test), how)
    return np.array([cal(t).p for t in obs])

@pytest.fixture(scope='module')
def gaussian_pool():
    return torch.tensor(np.random.default_rng(1).normal(size=(4000, 2)))

@pytest.mark.parametrize('how', ['min', 'fisher'])
def test_nplm_null_pvalues_are_uniform(gaussian_pool, how):
    nplm = NPLM(gaussian_pool[:2000], percentiles=(25, 50, 75), M=20)
    p = null_pvalues(nplm.statistic, gaussian_pool, how)
    assert stats.kstest(p, 'uniform').pvalue > 0.01
    lo, hi = stats.binom.interval(0.99, len(p), 0.05)
    assert lo <= (p < 0.05).sum() <= hi

@pytest.mark.parametrize('aggregate', ['sum', 'max'])
def test_mahalanobis_null_pvalues_are_uniform(aggregate):
    pool = torch.tensor(np.random.default_rng(2).normal(size=(4000, 3)))
    maha = Mahalanobis(pool[:2000], (pool[:2000, 0] > 0).long(), aggregate=aggregate)
    p = null_pvalues(maha.statistic, pool)
    assert stats.kstest(p, 'uniform').pvalue > 0.01

@pytest.mark.parametrize('name', ['mmd', 'frechet'])
def test_two_sample_baselines_null_pvalues_are_uniform(gaussian_pool, name):
    test = MMD(gaussian_pool[:2000], n_features=256) if name == 'mmd' else Frechet()
    p = null_pvalues(test.statistic, gaussian_pool)
    assert stats.kstest(p, 'uniform').pvalue > 0.01

def correlated_chi2(rng, n, rho, widths=6, dof=4):
    "Statistics [n, widths], each chi2(dof), every pair of widths sharing a common component of weight rho."
    z0, zj = rng.normal(size=(n, 1, dof)), rng.normal(size=(n, widths, dof))
    return ((rho * z0 + np.sqrt(1 - rho ** 2) * zj) ** 2).sum(-1)

@pytest.mark.parametrize('rho', [0.5, 0.9])
def test_reported_z_agrees_with_a_large_toy_run(rho):
    "Correlated widths: the truth from 2e7 toys, the report from 1,000, from 2 to 4.5 sigma."
    rng = np.random.default_rng(7)
    min_p = np.sort(np.concatenate([stats.chi2.sf(correlated_chi2(rng, 2_000_000, rho).max(1), 4) for _ in range(10)]))
    cal = Calibration(correlated_chi2(rng, 1000, rho), n_boot=100)
    for z_true in (2.0, 3.0, 4.0, 4.5):
        x = min_p[int(stats.norm.sf(z_true) * len(min_p))]  # the min p that 2e7 toys put at z_true
        t = np.r_[stats.chi2.isf(x, 4), np.full(5, 0.5)]
        s = cal(t)
        assert s.z_lo - 0.05 <= z_true <= s.z_hi + 0.05, (z_true, s)
        assert abs(s.z - z_true) < 0.2, (z_true, s)

def test_combined_z_passes_three_sigma():
    """The bug: a strong signal in five widths and a useless sixth (at its null median) gave a mean-p combination
    near Z = 2.2, however strong the signal; the combined Z must follow the signal."""
    rng = np.random.default_rng(3)
    null = correlated_chi2(rng, 300, 0.9)
    t = null.max(0) + 40  # beyond every null toy in every width ...
    t[5] = np.median(null[:, 5])  # ... but the last, where it is typical
    s = significance(t, null)
    assert s.z > 5 and s.used == 'extrapolated', s

def test_mahalanobis_extrapolates_with_a_normal_not_a_clip():
    "The sum statistic's null is normal-like (it runs negative): Z far out comes from the normal fit, not p = 1e-300."
    rng = np.random.default_rng(4)
    null = rng.normal(5, 100, size=(500, 1))  # a sum statistic: symmetric, negative half the time
    s = significance([5 + 100 * 8.0], null, family='normal')
    assert abs(s.z - 8.0) < 0.3, s
    s = significance([5 + 100 * 45.0], null, family='normal')  # p ~ 1e-440: no clip at Z = 37
    assert abs(s.z - 45.0) < 2, s
