"""Freeze SynergyFinder-3 ZIP slice fits and ZIP cell scores (``tests/test_zip3_speed.py``).

Run from the repository root:  .venv/bin/python tests/reference/zip3/make_reference.py

Written on 2026-12-06 from commit 81e9ea8 (before the ZIP-3 slice fits were made fast),
to check that the faster fits give the same slice parameters and ZIP scores.  Matrices:
the 8x8 matrix of ``benchmarks/bench_synergy.py`` (exact and with its seeded SD-3 noise) and
``N_RANDOM`` random noisy matrices (:func:`random_matrix`).  For every matrix the script
records the inputs of each call of ``fit_zip3_slices`` (doses, responses, mask, fixed
bottom), its outputs (``bottom, top, ec50, b`` and ``converged``), the residual sum of
squares of each slice, whether the slice's first (MINPACK) fit succeeded (``first_ok``:
the other slices are the degenerate ones that went to the fall-backs), and the ZIP cell
scores of ``synergy()`` (``n_boot=0``).
"""
import os
import sys
import warnings

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", ".."))

import comboplan as cp  # noqa: E402
import comboplan.combination.fits as F  # noqa: E402
import comboplan.combination.scoring as S  # noqa: E402
from comboplan.models.dose_response import hill  # noqa: E402

N_RANDOM = 60


def bench_matrix(noisy=False):
    """The ZIP 8x8 matrix of ``benchmarks/bench_synergy.py`` (inhibition, percent)."""
    d = np.r_[0, np.geomspace(0.05, 20, 7)]
    X1, X2 = np.meshgrid(d, d, indexing="ij")
    inh = 100 * (1 - (1 - hill(X1, 0, 1, 1, 1.2)) * (1 - hill(X2, 0, 0.8, 2, 1.0))) + 5 * (X1 > 0) * (X2 > 0)
    inh = inh.ravel()
    if noisy:
        inh = inh + np.random.default_rng(7).normal(0, 3.0, inh.size)
    return pd.DataFrame(dict(A=X1.ravel(), B=X2.ravel(), inh=inh))


def random_matrix(seed):
    """A random noisy 5-8 x 5-8 matrix (inhibition, percent): two Hill agents, Bliss + excess, noise."""
    rng = np.random.default_rng(seed)
    n1, n2 = rng.choice([5, 6, 8], 2)
    d1 = np.r_[0, np.geomspace(0.01, 10, n1 - 1) * rng.uniform(0.5, 2)]
    d2 = np.r_[0, np.geomspace(0.1, 100, n2 - 1) * rng.uniform(0.5, 2)]
    X1, X2 = np.meshgrid(d1, d2, indexing="ij")
    m1 = hill(X1, 0, rng.uniform(0.3, 1.0), np.exp(rng.uniform(np.log(0.02), np.log(20))), rng.uniform(0.5, 3))
    m2 = hill(X2, 0, rng.uniform(0.3, 1.0), np.exp(rng.uniform(np.log(0.2), np.log(200))), rng.uniform(0.5, 3))
    syn = rng.uniform(-10, 15) * (X1 > 0) * (X2 > 0)
    inh = 100 * (1 - (1 - m1) * (1 - m2)) + syn + rng.normal(0, rng.uniform(0, 8), X1.shape)
    return pd.DataFrame(dict(A=X1.ravel(), B=X2.ravel(), inh=inh.ravel()))


def matrices():
    """(name, DataFrame) of every frozen matrix."""
    yield "bench", bench_matrix()
    yield "bench_noisy", bench_matrix(noisy=True)
    for s in range(N_RANDOM):
        yield f"random{s}", random_matrix(s)


def slice_rss(x, y, mask, est):
    """RSS of each slice at ``est`` (``bottom, top, ec50, b``); NaN where not fitted."""
    from comboplan.models.combination.zip import zip_slice

    with np.errstate(all="ignore"):
        f = zip_slice(x, est[:, 0, None], est[:, 1, None], est[:, 2, None], est[:, 3, None])
        return np.sum(np.where(mask, (y - f) ** 2, 0.0), axis=1)


def main():
    warnings.simplefilter("ignore")
    out = {}
    for name, df in matrices():
        calls = []
        orig = S.fit_zip3_slices

        def wrap(x, y, mask, bottom):
            orig_mp = F._fit_zip3_minpack
            seen = {}

            def mp(u, yy, m, start, maxiter=400):
                orig_engine = F._engine

                def eng():
                    f = orig_engine()

                    def g(spec, xx, yy2, *a, **k):
                        seen["retry"] = np.concatenate([xx, np.nan_to_num(yy2)], axis=1)
                        return f(spec, xx, yy2, *a, **k)
                    return g
                F._engine = eng
                try:
                    e, c = orig_mp(u, yy, m, start, maxiter)
                finally:
                    F._engine = orig_engine
                seen["uy"] = np.concatenate([u, np.nan_to_num(yy)], axis=1)
                return e, c
            F._fit_zip3_minpack = mp
            try:
                e, c = orig(x, y, mask, bottom)
            finally:
                F._fit_zip3_minpack = orig_mp
            ok = np.ones(len(x), dtype=bool)
            if "retry" in seen:   # the slices the first fit gave up on (same centred doses and responses)
                for r in seen["retry"]:
                    ok[np.flatnonzero(np.all(seen["uy"] == r, axis=1))] = False
            calls.append((x, y, mask, bottom, e, c, ok))
            return e, c
        S.fit_zip3_slices = wrap
        try:
            res = cp.synergy(df, ["A", "B"], "inh", methods=("zip",), n_boot=0)
        finally:
            S.fit_zip3_slices = orig
        assert len(calls) == 1
        x, y, mask, bottom, e, c, ok = calls[0]
        out[f"{name}/data"] = df.to_numpy()
        out[f"{name}/x"] = x
        out[f"{name}/y"] = y
        out[f"{name}/mask"] = mask
        out[f"{name}/bottom"] = bottom
        out[f"{name}/est"] = e
        out[f"{name}/converged"] = c
        out[f"{name}/first_ok"] = ok
        out[f"{name}/rss"] = slice_rss(x, y, mask & np.isfinite(x) & np.isfinite(y), e)
        out[f"{name}/score"] = res.cells["score"].to_numpy(dtype=float)
    np.savez_compressed(os.path.join(HERE, "zip3_slices.npz"), **out)
    n = sum(len(v) for k, v in out.items() if k.endswith("/first_ok"))
    nd = sum(int((~v).sum()) for k, v in out.items() if k.endswith("/first_ok"))
    print(f"{len(out) // 10} matrices, {n} slices, {nd} degenerate (first fit failed)")


if __name__ == "__main__":
    main()
