"""Is the Laplace (FOCE-I) objective accurate for the Simeoni TGI model with transit compartments?

An independent check of ``fit_tgi(growth="simeoni", n_transit=3)`` on one study simulated as in
``benchmarks/calibration_tgi_simeoni.py``: the marginal likelihood of every animal is computed by
adaptive Gauss-Hermite quadrature (AGQ; a tensor grid of ``n_nodes`` x ``n_nodes`` nodes over the two
random effects, centred at each animal's mode and scaled by its Laplace Hessian), at the fitted
estimates and at +-1 SE of every estimated parameter.  The script prints the -2 log-likelihood by
Laplace and by AGQ, the curvature of each along every parameter (ratio AGQ / Laplace; the
standard errors scale as its inverse square root) and the slope per SE (a slope s shifts the AGQ
optimum by about s/2 SE from the Laplace one).  AGQ with enough nodes is exact up to the
quadrature error, so it checks both the objective and the standard errors.

Recorded result (docs/benchmarks.md): curvature ratios 0.96-1.01, so the Laplace standard errors
are those of the exact likelihood to within 2 %; the under-coverage of w0/lambda0/lambda1 in the
calibration is therefore not the Laplace approximation.

    .venv/bin/python benchmarks/laplace_check_tgi_simeoni.py [seed] [n_nodes]

Exits non-zero when a curvature ratio lies outside 0.9-1.1 or |Laplace - AGQ| > 1 at the
estimates.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import calibration_tgi_simeoni as C  # noqa: E402 - the calibration's study design

import comboplan as cp  # noqa: E402
import comboplan.fitting.nlme as N  # noqa: E402


def main() -> int:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    n_nodes = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    box = {}
    orig = cp.fit_tgi

    def grab(*a, **k):
        box["fit"] = orig(*a, **k)
        return box["fit"]

    cp.fit_tgi = grab
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        C.one(seed)
    cp.fit_tgi = orig
    fit = box["fit"]._fit
    prob, x, se = fit.problem, fit.x.copy(), fit.se_x
    q = len(prob.random_index)
    if q != 2:
        raise SystemExit("this check is written for two random effects")
    obj = N._Objective(prob, np.zeros(len(x), bool), x.copy(), reml=False)
    nodes, w = np.polynomial.hermite_e.hermegauss(n_nodes)     # weight exp(-z^2 / 2)
    z1, z2 = np.meshgrid(nodes, nodes, indexing="ij")
    Z = np.stack([z1.ravel(), z2.ravel()], 1)
    W = (w[:, None] * w[None, :]).ravel() * np.exp(0.5 * (Z ** 2).sum(1))
    K, n = len(W), prob.n_subjects

    def laplace_and_agq(xx):
        th, om, sg = obj.unpack(xx)
        eta, f, g, J, H = N._robust_modes(prob, th, om, sg, obj.eta)
        obj.eta = eta
        lap = float(np.sum(2 * g + np.linalg.slogdet(H)[1] - q * N._LOG2PI))
        L = np.linalg.cholesky(np.linalg.inv(H))                  # (n, 2, 2)
        pts = eta[None] + np.einsum("nij,kj->kni", L, Z)          # (K, n, 2)
        ff = prob.predict(prob.phi(th, pts.reshape(K * n, q))).reshape(K, n, -1)
        gk = np.stack([N._subject_nll(prob, ff[k], sg, pts[k], om) for k in range(K)])
        m = (-gk).max(0)
        li = m + np.log(np.sum(W[:, None] * np.exp(-gk - m), 0)) + np.log(np.abs(np.linalg.det(L)))
        return lap, float(-2 * li.sum())

    names = list(fit.labels)
    base = laplace_and_agq(x)
    print(f"study seed {seed}: 28 animals, Simeoni TGI with 3 transit compartments; AGQ {n_nodes}x{n_nodes} nodes")
    print(f"-2 log L at the estimates: Laplace {base[0]:.4f}, AGQ {base[1]:.4f} (difference {base[0] - base[1]:+.4f})")
    print(f"{'parameter':<20} {'curv. Laplace':>13} {'curv. AGQ':>10} {'ratio':>6} {'slope/SE Lap':>12} {'slope/SE AGQ':>12}")
    ok = abs(base[0] - base[1]) <= 1.0
    for j, nm in enumerate(names):
        if not np.isfinite(se[j]):
            continue
        h = se[j]
        vals = []
        for s in (-1, 1):
            xx = x.copy()
            xx[j] += s * h
            vals.append(laplace_and_agq(xx))
        cl = (vals[0][0] + vals[1][0] - 2 * base[0]) / h ** 2
        ca = (vals[0][1] + vals[1][1] - 2 * base[1]) / h ** 2
        sl, sa = (vals[1][0] - vals[0][0]) / 2, (vals[1][1] - vals[0][1]) / 2
        ok &= 0.9 <= ca / cl <= 1.1
        print(f"{nm:<20} {cl:>13.2f} {ca:>10.2f} {ca / cl:>6.3f} {sl:>12.3f} {sa:>12.3f}")
    print("PASS: Laplace curvature within 10 % of the exact (AGQ) likelihood's" if ok else
          "FAIL: a curvature ratio outside 0.9-1.1 or the objectives differ by more than 1")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
