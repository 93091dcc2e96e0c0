"""Robustness corpus: the default engine against lmfit and scipy curve_fit, same starts.

Fits a corpus of hard dose-response curves (real and simulated: hormesis, no plateau,
flat, outliers, optimum on a bound, three doses only, steep, asymmetric, tiny data) with

* comboplan's default engine (``comboplan.fitting.batch.fit_curves`` with
  ``multistart=True``, all curves of a model in one call, as ``fit_dose_response`` runs it);
* plain ``lmfit.minimize`` (leastsq, default tolerances), one curve at a time, on the
  natural-scale model with the model's bounds as ``min``/``max`` (as a user writes it);
* plain ``scipy.optimize.curve_fit`` (MINPACK LM; TRF when the problem has bounds) on a
  plain numpy model, default tolerances;

all three from the same start (comboplan's self-start, clipped into the bounds).  Prints
the convergence rate of each and the RSS comparison, per category, and exits with status 1
if the default engine is less robust than lmfit or curve_fit: it converges on fewer curves,
fails on a curve where a peer converges, or ends at an RSS worse than a converged peer's by
more than ``--rtol`` (relative, with an absolute floor of 1e-12 x sum(y^2) for exact fits).

    python benchmarks/robustness_dose_response.py
    python benchmarks/robustness_dose_response.py --list     # also print every curve

Real curves: R's ``datasets::DNase`` (11 ELISA runs; no upper plateau in the tested
range) and ``datasets::Puromycin`` (2 enzyme-kinetics curves), as bundled with R 4.x (data
of Davidian & Giltinan 1995 and Treloar 1974); the Chou (1994) and Lee & Kong (2009)
single-agent curves from ``tests/reference/chou_talalay``; the printed MCF10A means of
Karimi 2025 (``karimi2025_mcf10a``: four doses, flat or non-monotone) and the bundled
seeded replicate tables ``karimi2025_mtt_synthetic`` and
``eiro2024_proliferation_synthetic`` (three or four doses).  Simulated curves use a fixed
seed (``--seed``, default 20261).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# R datasets::DNase (runs 1-11: conc in ng/ml, optical density), R 4.x
DNASE_CONC = [0.04882812, 0.04882812, 0.1953125, 0.1953125, 0.390625, 0.390625, 0.78125, 0.78125, 1.5625, 1.5625,
              3.125, 3.125, 6.25, 6.25, 12.5, 12.5]
DNASE_DENSITY = {
    1: [0.017, 0.018, 0.121, 0.124, 0.206, 0.215, 0.377, 0.374, 0.614, 0.609, 1.019, 1.001, 1.334, 1.364, 1.73, 1.71],
    2: [0.045, 0.05, 0.137, 0.123, 0.225, 0.207, 0.401, 0.383, 0.672, 0.681, 1.116, 1.078, 1.554, 1.526, 1.932, 1.914],
    3: [0.07, 0.068, 0.173, 0.165, 0.277, 0.248, 0.434, 0.426, 0.703, 0.689, 1.067, 1.077, 1.629, 1.479, 2.003, 1.884],
    4: [0.011, 0.016, 0.118, 0.108, 0.2, 0.206, 0.364, 0.36, 0.62, 0.64, 0.979, 0.973, 1.424, 1.399, 1.74, 1.732],
    5: [0.035, 0.035, 0.132, 0.135, 0.224, 0.22, 0.385, 0.39, 0.658, 0.647, 1.06, 1.031, 1.425, 1.409, 1.75, 1.738],
    6: [0.086, 0.103, 0.191, 0.189, 0.272, 0.277, 0.44, 0.426, 0.686, 0.676, 1.062, 1.072, 1.424, 1.459, 1.768, 1.806],
    7: [0.094, 0.092, 0.182, 0.182, 0.282, 0.273, 0.444, 0.439, 0.686, 0.668, 1.052, 1.035, 1.409, 1.392, 1.759, 1.739],
    8: [0.054, 0.054, 0.152, 0.148, 0.226, 0.222, 0.392, 0.383, 0.658, 0.644, 1.043, 1.002, 1.466, 1.381, 1.743, 1.724],
    9: [0.032, 0.043, 0.142, 0.155, 0.239, 0.242, 0.42, 0.395, 0.624, 0.705, 1.046, 1.026, 1.398, 1.405, 1.693, 1.729],
    10: [0.052, 0.094, 0.164, 0.166, 0.259, 0.256, 0.439, 0.439, 0.69, 0.701, 1.042, 1.075, 1.34, 1.406, 1.699, 1.708],
    11: [0.047, 0.057, 0.159, 0.155, 0.246, 0.252, 0.427, 0.411, 0.704, 0.684, 0.994, 0.98, 1.421, 1.385, 1.715, 1.721],
}
# R datasets::Puromycin (conc in ppm, rate in counts/min/min)
PUROMYCIN = {
    "treated": ([0.02, 0.02, 0.06, 0.06, 0.11, 0.11, 0.22, 0.22, 0.56, 0.56, 1.1, 1.1],
                [76, 47, 97, 107, 123, 139, 159, 152, 191, 201, 207, 200]),
    "untreated": ([0.02, 0.02, 0.06, 0.06, 0.11, 0.11, 0.22, 0.22, 0.56, 0.56, 1.1],
                  [67, 51, 84, 86, 98, 115, 131, 124, 144, 158, 160]),
}


@dataclass
class Curve:
    """One corpus entry: a curve, the model to fit and its options."""

    name: str
    category: str
    source: str  # "real" or "simulated"
    model: str
    x: np.ndarray
    y: np.ndarray
    bounds: dict = field(default_factory=dict)


def _real_curves() -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    import pandas as pd

    import comboplan as cp

    out = []
    for run, dens in DNASE_DENSITY.items():
        out.append((f"DNase run {run}", "real: no upper plateau (ELISA)", np.array(DNASE_CONC), np.array(dens)))
    for state, (c, r) in PUROMYCIN.items():
        out.append((f"Puromycin {state}", "real: enzyme kinetics, no zero dose", np.array(c), np.array(r, float)))
    ref = ROOT / "tests" / "reference" / "chou_talalay"
    ch = pd.read_csv(ref / "chou1994_taxol_cisplatin_topotecan.csv")
    for ent, g in ch.groupby("entity", sort=True):
        d = g[["taxol_uM", "cisplatin_uM", "topotecan_uM"]].sum(axis=1).to_numpy()
        out.append((f"Chou 1994 {ent}", "real: few doses, fraction affected", np.r_[0.0, d], np.r_[0.0, g.fa]))
    for fname, ycol, y0 in (("lee_kong_2009_umscc22b.csv", "survival", 1.0),
                            ("lee_kong_2009_phenanthroline_adp.csv", "inhibition", 0.0)):
        lk = pd.read_csv(ref / fname)
        a, b = lk.columns[:2]
        for col, other in ((a, b), (b, a)):
            g = lk[(lk[other] == 0) & (lk[col] > 0)]
            out.append((f"Lee & Kong 2009 {col}", "real: few doses, fraction", np.r_[0.0, g[col]],
                        np.r_[y0, g[ycol]]))
    mc = cp.load_dataset("karimi2025_mcf10a")
    for meas, g in mc.groupby("measure", sort=True):
        out.append((f"Karimi 2025 MCF10A {meas} (printed means)", "real: four doses, flat/non-monotone",
                    g.dose_ug_per_mL.to_numpy(float), g["mean"].to_numpy(float)))
    mt = cp.load_dataset("karimi2025_mtt_synthetic")
    for (cl, t), g in mt.groupby(["cell_line", "time_h"], sort=True):
        out.append((f"karimi2025_mtt_synthetic {cl} {t:g} h", "bundled: three or four doses, replicates",
                    g.dose_ug_per_mL.to_numpy(float), g.viability_pct.to_numpy(float)))
    pr = cp.load_dataset("eiro2024_proliferation_synthetic")
    for sec, g in pr.groupby("secretome", sort=True):
        out.append((f"eiro2024_proliferation_synthetic secretome={sec}", "bundled: four doses, replicates",
                    g.paclitaxel_uM.to_numpy(float), g.inhibition_pct.to_numpy(float)))
    return out


def _simulated(seed: int) -> list[Curve]:
    from comboplan.models.dose_response import hill, hill5

    rng = np.random.default_rng(seed)
    out: list[Curve] = []
    d8 = np.array([0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10.0])

    def rep(d, k):
        return np.repeat(d, k)

    for i in range(16):  # hormesis: low-dose stimulation (Brain-Cousens-like bump)
        x = rep(d8, 3)
        ec, h = np.exp(rng.normal(np.log(0.5), 0.5)), np.exp(rng.normal(0.2, 0.3))
        bump = rng.uniform(15, 40) * x / (x + 0.02) * np.exp(-x / 0.3)
        y = hill(x, 100, 5, ec, h) + bump + rng.normal(0, 4, x.size)
        out.append(Curve(f"hormesis {i}", "hormesis", "simulated", ["hill4", "LL.4"][i % 2], x, y))
    for i in range(20):  # no plateau: EC50 at or above the top dose
        x = rep(d8, 3)
        ec, h = 10 * np.exp(rng.uniform(-0.5, 2.0)), np.exp(rng.normal(0, 0.3))
        y = hill(x, 100, 0, ec, h) + rng.normal(0, 4, x.size)
        out.append(Curve(f"no plateau {i}", "no plateau", "simulated", ["hill4", "LL.4", "W1.4", "W2.4"][i % 4], x, y))
    for i in range(20):  # flat: no effect at all
        x = rep(d8, 3)
        y = 100 + rng.normal(0, rng.uniform(1, 8), x.size)
        out.append(Curve(f"flat {i}", "flat (inactive agent)", "simulated", ["hill4", "LL.4", "W1.4", "W2.4"][i % 4],
                         x, y))
    for i in range(20):  # one or two gross outliers
        x = rep(d8, 3)
        y = hill(x, 100, 10, np.exp(rng.normal(np.log(0.3), 0.6)), np.exp(rng.normal(0, 0.3)))
        y = y + rng.normal(0, 4, x.size)
        k = rng.choice(x.size, size=1 + i % 2, replace=False)
        y[k] += rng.choice([-1, 1], size=k.size) * rng.uniform(40, 80, k.size)
        out.append(Curve(f"outliers {i}", "outliers", "simulated", ["hill4", "LL.4", "W1.4", "W2.4"][i % 4], x, y))
    for i in range(24):  # optimum on a bound: true slope outside the allowed range
        x = rep(d8, 3)
        model = ["LL.4", "W1.4", "hill4"][i % 3]
        if model == "hill4":
            y = hill(x, 100, 5, 0.5, 0.4) + rng.normal(0, 3, x.size)
            bounds = {"h": (0.8, 5.0)}
        else:
            from comboplan.models.dose_response import ll4, w1

            f = ll4 if model == "LL.4" else w1
            y = f(x, 0.45, 5, 100, 0.5) + rng.normal(0, 3, x.size)
            bounds = {"b": (1.0, 10.0)}
        out.append(Curve(f"on bound {i}", "optimum on a bound", "simulated", model, x, y, bounds))
    for i in range(24):  # three doses only (plus control), 3 replicates
        d = np.array([0, 0.1, 1, 10.0]) * np.exp(rng.normal(0, 0.5))
        x = rep(d, 3)
        y = hill(x, 100, 10, np.exp(rng.normal(np.log(1.0), 0.8)), np.exp(rng.normal(0, 0.3)))
        y = y + rng.normal(0, 4, x.size)
        out.append(Curve(f"three doses {i}", "three doses only", "simulated", ["hill4", "LL.4", "W1.4"][i % 3], x, y))
    for i in range(16):  # very steep curve between two doses
        x = rep(d8, 2)
        y = hill(x, 100, 0, np.exp(rng.uniform(np.log(0.02), np.log(5))), rng.uniform(5, 12)) + rng.normal(0, 3, x.size)
        out.append(Curve(f"steep {i}", "steep (one dose interval)", "simulated", ["hill4", "LL.4"][i % 2], x, y))
    for i in range(12):  # asymmetric curves fitted with five parameters
        x = rep(np.r_[0, np.geomspace(0.003, 30, 10)], 2)
        y = hill5(x, 100, 5, 0.3, 1.5, rng.uniform(0.3, 3)) + rng.normal(0, 3, x.size)
        out.append(Curve(f"asymmetric {i}", "asymmetric (hill5)", "simulated", "hill5", x, y))
    return out


def build_corpus(seed: int = 20261) -> list[Curve]:
    """The corpus: every real curve with hill4, LL.4 and W1.4, plus the simulated curves."""
    corpus = []
    for name, cat, x, y in _real_curves():
        for model in ("hill4", "LL.4", "W1.4"):
            corpus.append(Curve(f"{name} [{model}]", cat, "real", model, np.asarray(x, float), np.asarray(y, float)))
    corpus.extend(_simulated(seed))
    return corpus


# ----------------------------------------------------------------------------- fitters
def _start(spec, c: Curve):
    """comboplan's self-start for one curve, clipped into the bounds (natural scale)."""
    with np.errstate(all="ignore"):
        p0 = spec.selfstart(c.x[None, :], c.y[None, :], np.ones((1, c.x.size), bool))[0].astype(float)
    for j, p in enumerate(spec.params):
        lo, hi = c.bounds.get(p.name, p.bounds)
        eps = 1e-9 * max(1.0, abs(lo), abs(hi) if np.isfinite(hi) else 1.0)
        p0[j] = np.clip(p0[j], lo + (eps if p.transform == "log" and lo == 0 else 0.0), hi)
    return p0


def _rss(spec, c: Curve, p) -> float:
    with np.errstate(all="ignore"):
        r = c.y - spec.func(c.x, *p)
    v = float(r @ r)
    return v if np.isfinite(v) else np.nan


def fit_engine(corpus: list[Curve], starts: list[np.ndarray]):
    """Default engine, one batched call per (model, bounds) group; returns (converged, rss) arrays."""
    from comboplan.fitting.batch import fit_curves
    from comboplan.models.dose_response import get_model

    n = len(corpus)
    conv = np.zeros(n, bool)
    rss = np.full(n, np.nan)
    msgs = [""] * n
    groups: dict = {}
    for i, c in enumerate(corpus):
        groups.setdefault((c.model, tuple(sorted(c.bounds.items()))), []).append(i)
    for (model, bnd), idx in groups.items():
        spec = get_model(model)
        m = max(corpus[i].x.size for i in idx)
        X = np.full((len(idx), m), np.nan)
        Y = np.full((len(idx), m), np.nan)
        for k, i in enumerate(idx):
            X[k, :corpus[i].x.size] = corpus[i].x
            Y[k, :corpus[i].y.size] = corpus[i].y
        P0 = np.array([starts[i] for i in idx])
        bf = fit_curves(spec, X, Y, p0=P0, bounds=dict(bnd) or None, multistart=True,
                        min_dof=0)
        for k, i in enumerate(idx):
            conv[i] = bf.converged[k]
            rss[i] = bf.rss[k]
            msgs[i] = str(bf.message[k])
    return conv, rss, msgs


def fit_lmfit(corpus: list[Curve], starts: list[np.ndarray]):
    """Plain ``lmfit.minimize`` (leastsq, default tolerances) per curve, natural scale."""
    import lmfit

    from comboplan.models.dose_response import get_model

    conv = np.zeros(len(corpus), bool)
    rss = np.full(len(corpus), np.nan)
    for i, c in enumerate(corpus):
        spec = get_model(c.model)
        params = lmfit.Parameters()
        for j, p in enumerate(spec.params):
            lo, hi = c.bounds.get(p.name, p.bounds)
            params.add(p.name, value=float(starts[i][j]), min=lo, max=hi)

        def resid(pars, c=c, spec=spec):
            return c.y - spec.func(c.x, *[pars[p.name].value for p in spec.params])

        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = lmfit.minimize(resid, params)
            est = np.array([out.params[p.name].value for p in spec.params])
            if out.success and np.all(np.isfinite(est)):
                conv[i] = True
                rss[i] = _rss(spec, c, est)
        except Exception:  # a failed fit, as a user's loop would record it
            pass
    return conv, rss


def fit_curve_fit(corpus: list[Curve], starts: list[np.ndarray]):
    """Plain ``scipy.optimize.curve_fit`` per curve (LM, or TRF when the model has bounds)."""
    from scipy.optimize import curve_fit

    from comboplan.models.dose_response import get_model

    conv = np.zeros(len(corpus), bool)
    rss = np.full(len(corpus), np.nan)
    for i, c in enumerate(corpus):
        spec = get_model(c.model)
        lo = [c.bounds.get(p.name, p.bounds)[0] for p in spec.params]
        hi = [c.bounds.get(p.name, p.bounds)[1] for p in spec.params]
        bounded = np.any(np.isfinite(lo)) or np.any(np.isfinite(hi))
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est, _ = curve_fit(lambda d, *q, spec=spec: spec.func(d, *q), c.x, c.y, p0=starts[i],
                                   bounds=(lo, hi) if bounded else (-np.inf, np.inf))
            if np.all(np.isfinite(est)):
                conv[i] = True
                rss[i] = _rss(spec, c, est)
        except (RuntimeError, ValueError):
            pass
    return conv, rss


def compare(corpus, ours, peers, rtol):
    """Per-curve problems of the default engine relative to each converged peer."""
    conv, rss, msgs = ours
    problems = []
    for name, (pc, pr) in peers.items():
        for i, c in enumerate(corpus):
            if not pc[i]:
                continue
            floor = 1e-12 * float(c.y @ c.y)
            if not conv[i]:
                problems.append(f"{c.name}: {name} converged (RSS {pr[i]:.6g}), the engine did not ({msgs[i]})")
            elif rss[i] > pr[i] * (1 + rtol) + floor:
                problems.append(f"{c.name}: RSS {rss[i]:.8g} worse than {name}'s {pr[i]:.8g} "
                                f"(relative {(rss[i] - pr[i]) / pr[i]:.2e})")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=20261)
    ap.add_argument("--rtol", type=float, default=1e-6, help="relative RSS tolerance (default 1e-6)")
    ap.add_argument("--list", action="store_true", help="print every curve")
    args = ap.parse_args(argv)
    from comboplan.models.dose_response import get_model

    corpus = build_corpus(args.seed)
    starts = [_start(get_model(c.model), c) for c in corpus]
    t0 = time.perf_counter()
    ours = fit_engine(corpus, starts)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    lm = fit_lmfit(corpus, starts)
    t_lm = time.perf_counter() - t0
    t0 = time.perf_counter()
    cf = fit_curve_fit(corpus, starts)
    t_cf = time.perf_counter() - t0
    n = len(corpus)
    n_real = sum(c.source == "real" for c in corpus)
    print(f"corpus: {n} fits ({n_real} of real curves, {n - n_real} simulated, seed {args.seed})")
    print(f"{'category':42s} {'n':>4s} {'engine':>7s} {'lmfit':>7s} {'curve_fit':>9s}")
    cats = sorted({c.category for c in corpus})
    for cat in cats + ["all"]:
        sel = np.array([cat == "all" or c.category == cat for c in corpus])
        print(f"{cat:42s} {sel.sum():4d} {ours[0][sel].sum():7d} {lm[0][sel].sum():7d} {cf[0][sel].sum():9d}")
    print(f"convergence rate: engine {ours[0].mean():.1%}, lmfit {lm[0].mean():.1%}, curve_fit {cf[0].mean():.1%}")
    for name, (pc, pr) in (("lmfit", lm), ("curve_fit", cf)):
        both = ours[0] & pc
        floor = np.array([1e-12 * float(c.y @ c.y) for c in corpus])[both]
        with np.errstate(all="ignore"):  # relative excess beyond the exact-fit floor
            rel = (ours[1][both] - pr[both] - floor) / np.maximum(pr[both], 1e-300)
        better = np.sum(ours[1][both] < pr[both] * (1 - args.rtol) - floor)
        worse = np.sum(ours[1][both] > pr[both] * (1 + args.rtol) + floor)
        print(f"vs {name}: both converged on {both.sum()}; engine lower RSS (by > rtol) on {better}, "
              f"equal within rtol on {both.sum() - better - worse}, higher on {worse}; "
              f"largest relative excess {max(rel.max(), 0.0):.2e}")
    print(f"wall time: engine {t_ours:.2f} s (one batched call per model), lmfit loop {t_lm:.2f} s, "
          f"curve_fit loop {t_cf:.2f} s")
    if args.list:
        for i, c in enumerate(corpus):
            print(f"  {c.name:55s} {c.model:6s} engine {ours[1][i]:.8g} ({'ok' if ours[0][i] else 'FAIL'}) "
                  f"lmfit {lm[1][i]:.8g} curve_fit {cf[1][i]:.8g} | {ours[2][i][:90]}")
    problems = compare(corpus, ours, {"lmfit": lm, "curve_fit": cf}, args.rtol)
    fewer = [f"engine converges on {ours[0].sum()} curves, {name} on {pc.sum()}"
             for name, (pc, _) in (("lmfit", lm), ("curve_fit", cf)) if ours[0].sum() < pc.sum()]
    if problems or fewer:
        print("LESS ROBUST THAN A PEER:")
        for p in fewer + problems:
            print("  " + p)
        return 1
    print("OK: the default engine converges wherever lmfit or curve_fit does, never at a worse RSS "
          f"(rtol {args.rtol:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
