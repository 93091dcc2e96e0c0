"""Benchmark (issue 13): one 28-animal study with a variance function + in-vivo synergy.

Study: 28 animals, 4 arms (control, A, B, A+B), caliper days 0, 7, 14, 21, 28; log relative size
with a fixed growth rate per arm, a random slope per animal and a residual SD that differs by arm
(nlme's ``varIdent(~1|arm)``; simulated SDs 0.10, 0.15, 0.20, 0.30).

Timed (the public calls, best of 5, warm imports):

* comboplan: ``fit_growth_mixed(variance="arm")`` (defaults: REML, influence = 28
  leave-one-animal-out refits) + ``invivo_synergy`` over all cut-off days; also without influence.
* baseline, what a user would write with SciPy: the same REML likelihood written directly (dense
  per-animal covariance, GLS for the arm rates, log-scale variance parameters) minimised by
  ``scipy.optimize.minimize`` with its defaults (BFGS, finite-difference gradient), from the same
  start (zeros); no influence refits, no synergy.  Its estimates are checked against comboplan's.

1,000 such studies (the power-analysis path): ``fit_growth_mixed_batch(variance="arm")`` +
``invivo_synergy_batch`` over all cut-off days, against a loop of the one-study calls
(``fit_growth_mixed(variance="arm", influence=False)`` + ``invivo_synergy``) timed on 20 studies
and extrapolated.

Targets: the comboplan call (fit with influence + synergy) <= 50 ms and >= 5x faster than the
baseline fit alone; 1,000 studies <= 10 s; the script exits non-zero when a target is missed or
the estimates differ.

    .venv/bin/python benchmarks/bench_growth_varfunc.py
"""
from __future__ import annotations

import math
import sys

import numpy as np
from _studies import timings
import pandas as pd
from scipy import optimize

from comboplan.growth.api import fit_growth_mixed
from comboplan.growth.mixed_batch import fit_growth_mixed_batch
from comboplan.growth.synergy import invivo_synergy, invivo_synergy_batch

DAYS = np.array([0.0, 7.0, 14.0, 21.0, 28.0])
ARMS = ["control", "A", "B", "A+B"]
RATES = np.array([0.10, 0.07, 0.06, 0.03])
SD = np.array([0.10, 0.15, 0.20, 0.30])


def study(seed):
    rng = np.random.default_rng(seed)
    arm = np.repeat(np.arange(4), 7)
    slope = RATES[arm] + rng.normal(0, 0.015, 28)
    logv = (np.log(150) + slope[:, None] * DAYS
            + rng.normal(0, 1, (28, 5)) * SD[arm][:, None])
    return pd.DataFrame({"mouse": np.repeat(np.arange(28), 5), "arm": np.repeat(np.asarray(ARMS)[arm], 5),
                         "day": np.tile(DAYS, 28), "vol": np.exp(logv).ravel()})


def baseline_fit(df):
    """The REML fit a user would write: y_i = log(V/V0) after day 0, X_i = t x arm indicator,
    V_i = tau^2 t t' + diag(sigma^2 r_arm^2) (r_control = 1), parameters on the log scale."""
    y, X, t, a = [], [], [], []
    for _, g in df.groupby("mouse", sort=True):
        g = g.sort_values("day")
        lv = np.log(g["vol"].to_numpy())
        tt = g["day"].to_numpy()[1:]
        k = ARMS.index(g["arm"].iloc[0])
        x = np.zeros((len(tt), 4))
        x[:, k] = tt
        y.append(lv[1:] - lv[0])
        X.append(x)
        t.append(tt)
        a.append(k)
    n = sum(len(v) for v in y)

    def neg2_reml(p):
        tau2, s2 = math.exp(2 * p[0]), math.exp(2 * p[1])
        ratio = np.exp(np.r_[0.0, p[2:]])
        XtVX = np.zeros((4, 4))
        XtVy = np.zeros(4)
        logdet = 0.0
        Vinv = []
        for yi, xi, ti, ai in zip(y, X, t, a):
            Vi = tau2 * np.outer(ti, ti) + np.diag(np.full(len(ti), s2 * ratio[ai] ** 2))
            Vinv_i = np.linalg.inv(Vi)
            Vinv.append(Vinv_i)
            logdet += np.linalg.slogdet(Vi)[1]
            XtVX += xi.T @ Vinv_i @ xi
            XtVy += xi.T @ Vinv_i @ yi
        beta = np.linalg.solve(XtVX, XtVy)
        quad = sum((yi - xi @ beta) @ Vi_inv @ (yi - xi @ beta) for yi, xi, Vi_inv in zip(y, X, Vinv))
        return logdet + np.linalg.slogdet(XtVX)[1] + quad + (n - 4) * math.log(2 * math.pi), beta

    res = optimize.minimize(lambda p: neg2_reml(p)[0], np.zeros(5))
    return neg2_reml(res.x)[1], res


def best_of(f, n=5):
    ts = timings(f, n)
    return min(ts), ts


def main():
    df = study(1)
    kw = dict(subject="mouse", arm="arm", time="day", size="vol")
    fit = fit_growth_mixed(df, **kw, variance="arm")            # warm up imports and caches
    invivo_synergy(df, "mouse", "arm", "day", "vol", control="control")
    t_cp, runs = best_of(lambda: (fit_growth_mixed(df, **kw, variance="arm"),
                                  invivo_synergy(df, "mouse", "arm", "day", "vol", control="control")))
    t_noinf, _ = best_of(lambda: (fit_growth_mixed(df, **kw, variance="arm", influence=False),
                                  invivo_synergy(df, "mouse", "arm", "day", "vol", control="control")))
    t_fit, _ = best_of(lambda: fit_growth_mixed(df, **kw, variance="arm", influence=False))
    t_base, _ = best_of(lambda: baseline_fit(df), n=3)
    beta, res = baseline_fit(df)
    ours = fit.rates.set_index("arm").loc[ARMS, "rate"].to_numpy()
    diff = float(np.max(np.abs(ours - beta)))
    # the arm rates of a balanced design do not depend on the variance parameters: compare those too
    sd_ours = fit.variance_function.set_index("stratum").loc[ARMS, "residual_sd"].to_numpy()
    sd_base = math.exp(res.x[1]) * np.exp(np.r_[0.0, res.x[2:]])
    sd_diff = float(np.max(np.abs(sd_ours / sd_base - 1.0)))
    print("28 animals x 4 arms x 5 times, residual SD by arm (varIdent); synergy over all cut-off days")
    print(f"  comboplan fit_growth_mixed(variance='arm') [influence: 28 refits] + invivo_synergy: "
          f"{1e3 * t_cp:7.1f} ms (runs {', '.join(f'{1e3 * r:.1f}' for r in runs)} ms)")
    print(f"  same without influence (influence=False):                                 {1e3 * t_noinf:7.1f} ms")
    print(f"  comboplan fit alone (influence=False):                                    {1e3 * t_fit:7.1f} ms")
    print(f"  baseline scipy.optimize.minimize REML (BFGS, numerical gradient), fit alone: {1e3 * t_base:7.1f} ms "
          f"({res.nfev} evaluations; converged={res.success})")
    print(f"  ratio baseline fit / comboplan call with influence + synergy: {t_base / t_cp:.1f}x; "
          f"/ comboplan fit alone: {t_base / t_fit:.1f}x")
    print(f"  arm rates: max |comboplan - baseline| = {diff:.2e} 1/day; residual SD by arm: max relative "
          f"difference {sd_diff:.1e}")
    # 1,000 studies
    dfs = [study(1000 + i) for i in range(1000)]
    sizes = np.stack([d["vol"].to_numpy().reshape(28, 5) for d in dfs])
    arm = np.repeat(np.arange(4), 7)

    def batch():
        out = fit_growth_mixed_batch(sizes, DAYS, arm, ARMS, variance="arm")
        syn = invivo_synergy_batch(sizes, DAYS, arm, ARMS, control="control")
        return out, syn

    t_batch, _ = best_of(batch, n=2)
    out, _ = batch()
    t_loop20, _ = best_of(lambda: [(fit_growth_mixed(d, **kw, variance="arm", influence=False),
                                    invivo_synergy(d, "mouse", "arm", "day", "vol", control="control"))
                                   for d in dfs[:20]], n=1)
    one = fit_growth_mixed(dfs[7], **kw, variance="arm", influence=False).rates.set_index("arm").loc[ARMS]
    bdiff = float(np.max(np.abs(out["rate_se"][7] / one["stderr"].to_numpy() - 1.0)))
    print(f"  1,000 studies: fit_growth_mixed_batch(variance='arm') + invivo_synergy_batch: {t_batch:6.2f} s "
          f"(converged {out['converged'].mean():.3f}, {out['refitted']} refitted alone)")
    print(f"  1,000 studies: loop of the one-study calls (extrapolated from 20): {50 * t_loop20:6.2f} s "
          f"(ratio {50 * t_loop20 / t_batch:.0f}x); batch vs one-study SE (study 7): max relative difference "
          f"{bdiff:.1e}")
    ok_speed = t_cp <= 0.050 and t_base / t_cp >= 5.0 and t_batch <= 10.0
    ok_same = diff < 1e-5 and sd_diff < 1e-4 and bdiff < 1e-5 and bool(out["converged"].all())
    print(f"targets: call <= 50 ms and >= 5x, 1,000 studies <= 10 s: {'PASS' if ok_speed else 'MISS'}; same estimates: "
          f"{'PASS' if ok_same else 'FAIL'}")
    return 0 if (ok_speed and ok_same) else 1


if __name__ == "__main__":
    sys.exit(main())
