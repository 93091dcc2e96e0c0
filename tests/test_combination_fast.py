"""Fast numerical paths of the combination module: analytic Jacobians, the vectorised
Loewe solver, vectorised starts and layouts (each checked against a slow reference)."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import comboplan as cp
from comboplan.combination.fits import ZIP_SLICE, hill_start, musyc_surface_jacobian
from comboplan.models.combination import loewe_index, loewe_reference, musyc
from comboplan.models.dose_response import hill
from comboplan.models.spec import numeric_jacobian

D1 = np.r_[0, np.geomspace(0.05, 20, 7)]
D2 = np.r_[0, np.geomspace(0.1, 50, 7)]
X1, X2 = (a.ravel() for a in np.meshgrid(D1, D2, indexing="ij"))


@settings(max_examples=25, deadline=None)
@given(st.floats(0.3, 4), st.floats(0.3, 4), st.floats(0.05, 20), st.floats(0.05, 20), st.floats(0.05, 20),
       st.floats(0.05, 20), st.floats(0.3, 3), st.floats(0.3, 3))
def test_musyc_analytic_jacobian_matches_finite_differences(h1, h2, C1, C2, a12, a21, g12, g21):
    p = [1.0, 0.4, 0.2, 0.05, h1, h2, C1, C2, a12, a21, g12, g21]
    cols = [np.array([[v]]) for v in p]
    E, J = musyc_surface_jacobian(X1[None], X2[None], *cols)
    # the fast surface is the reference model (tree theorem in log space) ...
    assert np.allclose(E, musyc(X1, X2, *p), rtol=0, atol=1e-12)
    # ... and its Jacobian matches central differences of that model
    Jn = numeric_jacobian(lambda x, *pp: musyc(X1[None], X2[None], *pp), None, cols)
    # central differences carry ~eps/step round-off (up to ~1e-8 here): relative 1e-5 plus absolute 1e-7
    scale = np.abs(Jn).max(axis=(0, 1))
    assert np.all(np.abs(J - Jn).max(axis=(0, 1)) <= 1e-5 * scale + 1e-7)


def test_zip_slice_jacobian_matches_finite_differences():
    x = np.array([[0.05, 0.3, 1.0, 3.0, 20.0]])
    for b in (-2.3, -0.4, 0.7, 3.1):
        p = [np.array([[v]]) for v in (23.0, 100.0, 1.3, b)]
        assert np.allclose(ZIP_SLICE.jacobian(x, *p), numeric_jacobian(ZIP_SLICE.func, x, p), atol=1e-6)
    # a saturated slice (ec50 -> 0) has a finite Jacobian
    p = [np.array([[v]]) for v in (97.0, 100.0, 1e-300, 50.0)]
    assert np.all(np.isfinite(ZIP_SLICE.jacobian(x, *p)))


def _bisection(d, e0, einf, ec, h, n=200):
    lo = np.max(np.where(d > 0, e0, -np.inf), -1)
    hi = np.max(np.where((d > 0) & (einf > e0), einf, -np.inf), -1)
    none = ~np.isfinite(lo)
    base = e0.max(-1)
    lo = np.where(none, base, lo)
    hi = np.where(np.isfinite(hi) & (hi > lo), hi, lo)
    a, b = lo.copy(), hi.copy()
    for _ in range(n):
        m = 0.5 * (a + b)
        s = np.nan_to_num(loewe_index(d, m, e0, einf, ec, h), nan=0.0, posinf=np.inf)
        a, b = np.where(s > 1, m, a), np.where(s > 1, b, m)
    return np.where(none, base, 0.5 * (a + b))


@pytest.mark.parametrize("N", [2, 3])
def test_loewe_newton_matches_bisection_on_random_agents(N):
    """Safeguarded Newton = 200-step bisection, incl. unequal maxima, falling and absent agents."""
    rng = np.random.default_rng(N)
    n = 4000
    d = rng.uniform(0, 5, (n, N)) * (rng.random((n, N)) > 0.2)
    e0 = rng.uniform(0, 10, (n, N))
    einf = rng.uniform(-20, 100, (n, N))
    ec = np.exp(rng.normal(0, 1, (n, N)))
    h = np.exp(rng.normal(0, 0.7, (n, N)))
    E = loewe_reference(d, e0, einf, ec, h)
    R = _bisection(d, e0, einf, ec, h)
    assert np.all(np.isfinite(E))
    assert np.max(np.abs(E - R)) < 1e-8 * 100


@pytest.mark.parametrize("N", [1, 2, 3, 4])
def test_loewe_solver_extreme_doses_and_shapes(N):
    """Doses, potencies and slopes over many decades (roots within rounding of an agent's
    maximum, agents whose baseline is below the others', steep and shallow curves): the
    solver matches 200-step bisection and emits no floating-point warnings."""
    rng = np.random.default_rng(10 + N)
    n = 3000
    d = rng.uniform(0, 5, (n, N)) * (rng.random((n, N)) > 0.2) * np.exp(rng.normal(0, 3, (n, N)))
    e0 = rng.uniform(0, 10, (n, N))
    einf = rng.uniform(-20, 100, (n, N))
    ec = np.exp(rng.normal(0, 2, (n, N)))
    h = np.exp(rng.normal(0, 1, (n, N)))
    with np.errstate(all="raise"):
        E = loewe_reference(d, e0, einf, ec, h)
    assert np.all(np.isfinite(E))
    assert np.max(np.abs(E - _bisection(d, e0, einf, ec, h))) < 1e-9 * 100


def test_hill_start_close_to_truth_and_vectorised():
    rng = np.random.default_rng(3)
    n = 500
    x = np.tile(D1, (n, 1))
    ec = np.exp(rng.uniform(-2, 2, n))
    hh = rng.uniform(0.5, 3, n)
    y = hill(x, 0.0, 100.0, ec[:, None], hh[:, None]) + rng.normal(0, 1, x.shape)
    p0 = hill_start(x, y, np.ones_like(x, bool))
    assert p0.shape == (n, 4)
    assert np.median(np.abs(np.log(p0[:, 2] / ec))) < 0.35      # within the grid resolution
    one = hill_start(x[:1], y[:1], np.ones_like(x[:1], bool))
    assert np.allclose(one, p0[:1])                             # no cross-talk between curves


def test_scores_do_not_depend_on_other_blocks():
    """Vectorised layouts: scoring blocks together = scoring each block alone (all methods)."""
    rng = np.random.default_rng(0)
    d = np.r_[0, np.geomspace(0.1, 10, 5)]
    A, B = (v.ravel() for v in np.meshgrid(d, d, indexing="ij"))
    frames = []
    for blk, (ec1, ec2) in enumerate([(1.0, 2.0), (0.5, 4.0), (2.0, 0.7)]):
        inh = 100 * (1 - (1 - hill(A, 0, 1, ec1, 1.2)) * (1 - hill(B, 0, 0.9, ec2, 1.0))) + rng.normal(0, 2, A.size)
        frames.append(pd.DataFrame({"blk": f"b{blk}", "A": A, "B": B, "inh": np.clip(inh, -10, 110)}))
    df = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=1)   # shuffled rows
    methods = ("bliss", "hsa", "loewe", "zip")
    allb = cp.synergy(df, ["A", "B"], "inh", by="blk", methods=methods, n_boot=0)
    for blk, g in df.groupby("blk"):
        one = cp.synergy(g, ["A", "B"], "inh", methods=methods, n_boot=0)
        a = allb.cells[allb.cells.blk == blk].sort_values(["method", "A", "B"])
        b = one.cells.sort_values(["method", "A", "B"])
        assert np.allclose(a.score.to_numpy(), b.score.to_numpy(), atol=1e-6)
        ab = allb.blocks[allb.blocks.blk == blk].sort_values("method")
        bb = one.blocks.sort_values("method")
        assert np.allclose(ab["mean"].to_numpy(), bb["mean"].to_numpy(), atol=1e-6)
        assert np.allclose(ab["most_synergistic_area"].to_numpy(), bb["most_synergistic_area"].to_numpy(),
                           atol=1e-6, equal_nan=True)


def _random_musyc_surfaces(n, seed=42):
    rng = np.random.default_rng(seed)
    X1, X2 = np.meshgrid(D1, D2, indexing="ij")
    out = []
    for _ in range(n):
        true = dict(E0=1, E1=rng.uniform(0.1, 0.7), E2=rng.uniform(0.1, 0.7), E3=rng.uniform(0, 0.3),
                    h1=np.exp(rng.uniform(-0.5, 1.2)), h2=np.exp(rng.uniform(-0.5, 1.2)),
                    C1=np.exp(rng.uniform(-2, 2)), C2=np.exp(rng.uniform(-1.5, 2.5)),
                    alpha12=np.exp(rng.uniform(-2, 2)), alpha21=np.exp(rng.uniform(-2, 2)))
        E = musyc(X1, X2, **true) + rng.normal(0, 0.04, X1.shape)
        out.append(pd.DataFrame(dict(a=X1.ravel(), b=X2.ravel(), v=E.ravel())))
    return out


def test_musyc_least_squares_never_worse_than_synergy_package():
    """Random surfaces (incl. flat-valley cases that need the MINPACK-equivalent fallback
    stop, e.g. the 8th): comboplan always converges and its RSS is <= the peer's."""
    synergy = pytest.importorskip("synergy.combination")
    keys = ("E0", "E1", "E2", "E3", "h1", "h2", "C1", "C2", "alpha12", "alpha21")
    dfs = _random_musyc_surfaces(8)
    for i, df in enumerate(dfs):
        r = cp.fit_musyc(df, ["a", "b"], "v", n_boot=0)
        assert bool(r.fit["converged"].iloc[0]), i
        a, b, v = df.a.to_numpy(), df.b.to_numpy(), df.v.to_numpy()
        e = r.estimates()
        peer = synergy.MuSyC(fit_gamma=False)
        peer.fit(a, b, v)
        rss_o = np.sum((v - musyc(a, b, *(e[k] for k in keys))) ** 2)
        rss_p = np.sum((v - musyc(a, b, *(getattr(peer, k) for k in keys))) ** 2)
        assert rss_o <= rss_p * (1 + 1e-6), (i, rss_o, rss_p)
    assert "fallback" in r.fit["tolerance"].iloc[0]     # the 8th surface is a flat-valley case


def test_minpack_hill_path_stopped_by_its_iteration_limit_goes_to_the_engine_silently():
    """leastsq (called without full_output) warns when MINPACK stops on its evaluation limit; the
    MINPACK Hill path hands such curves to the batch engine, which finishes them, and no
    RuntimeWarning reaches the user.  The other curve keeps its MINPACK fit and niter counts
    MINPACK's Jacobian evaluations."""
    import warnings

    from comboplan.combination import fits

    rng = np.random.default_rng(3)
    x = np.tile(np.r_[0, np.geomspace(0.01, 10, 7)], (2, 1))
    y = hill(x, 2.0, 90.0, np.array([[0.3], [2.0]]), 1.3) + rng.normal(0, 3, x.shape)
    mask = np.ones_like(x, dtype=bool)
    p0 = hill_start(x, y, mask)
    full = fits._fit_hill_minpack(x, y, mask, p0, None, 200, fits.FIT_TOL, fits.FIT_GTOL)
    assert full.converged.all() and (full.niter >= 2).all()
    limit = int(full.niter.min())                  # a limit one curve reaches and the other not
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cut = fits._fit_hill_minpack(x, y, mask, p0, None, limit + 1, fits.FIT_TOL, fits.FIT_GTOL)
    assert cut.converged.all()
    k = int(np.argmin(full.niter))                  # finished by MINPACK within the limit
    assert np.array_equal(cut.estimates[k], full.estimates[k]) and cut.niter[k] == full.niter[k]
    j = 1 - k                                       # stopped by the limit: refitted by the engine
    engine = fits._engine()(fits.HILL4, x[[j]], y[[j]], mask=mask[[j]], p0=p0[[j]], maxiter=limit + 1,
                            xtol=fits.FIT_TOL, gtol=fits.FIT_GTOL, ftol=1e-15)
    assert np.array_equal(cut.estimates[j], engine.estimates[0])
    np.testing.assert_allclose(cut.estimates[j], full.estimates[j], rtol=1e-5)
