"""Synergy benchmarks against the `synergy` package (1.0.0) in the same run.

Run:  MPLBACKEND=Agg .venv/bin/python benchmarks/bench_synergy.py
Prints timings and speed ratios; targets: MuSyC 8x8 >= 3x faster with equal or better
recovery, ZIP 8x8 >= 20x, Loewe >= 5x, 10,000 6x6 blocks Bliss+HSA < 1 s.
"""
import time
import warnings

import numpy as np
import pandas as pd

import comboplan as cp
from comboplan.models.combination import musyc
from comboplan.models.dose_response import hill


def best_of(f, n=3):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def surface(seed=0, n=8):
    rng = np.random.default_rng(seed)
    d1 = np.r_[0, np.geomspace(0.05, 20, n - 1)]
    d2 = np.r_[0, np.geomspace(0.1, 50, n - 1)]
    X1, X2 = np.meshgrid(d1, d2, indexing="ij")
    true = dict(E0=1, E1=0.4, E2=0.2, E3=0.05, h1=1.3, h2=0.9, C1=1.0, C2=3.0, alpha12=3.0, alpha21=0.5)
    E = musyc(X1, X2, **true) + rng.normal(0, 0.02, X1.shape)
    return pd.DataFrame(dict(a=X1.ravel(), b=X2.ravel(), v=E.ravel())), true


def main():
    from synergy.combination import MuSyC, ZIP, Loewe

    warnings.simplefilter("ignore")
    rows = []
    # ---- MuSyC 8x8
    errs_o, errs_p, to, tp = [], [], [], []
    keys = ("E0", "E1", "E2", "E3", "h1", "h2", "C1", "C2", "alpha12", "alpha21")
    for seed in range(5):
        df, true = surface(seed)
        t, r = best_of(lambda: cp.fit_musyc(df, ["a", "b"], "v", n_boot=0), 1)
        to.append(t)
        e = r.estimates()
        t, m = best_of(lambda: MuSyC(fit_gamma=False).fit(df.a.to_numpy(), df.b.to_numpy(), df.v.to_numpy()) or None, 1)
        peer = MuSyC(fit_gamma=False)
        t0 = time.perf_counter()
        peer.fit(df.a.to_numpy(), df.b.to_numpy(), df.v.to_numpy())
        tp.append(time.perf_counter() - t0)
        le = lambda est: np.mean([abs(np.log(est[k] / true[k])) if k[0] in "hCa" else abs(est[k] - true[k]) for k in keys])
        errs_o.append(le(e))
        errs_p.append(le({k: getattr(peer, k) for k in keys}))
    rows.append(("MuSyC fit 8x8 (median of 5 surfaces)", np.median(to), np.median(tp),
                 f"mean abs error (log for h, C, alpha): comboplan {np.mean(errs_o):.3f}, synergy {np.mean(errs_p):.3f}"))
    # ---- ZIP / Loewe 8x8 (point estimates, no bootstrap)
    d = np.r_[0, np.geomspace(0.05, 20, 7)]
    X1, X2 = np.meshgrid(d, d, indexing="ij")
    inh = 100 * (1 - (1 - hill(X1, 0, 1, 1, 1.2)) * (1 - hill(X2, 0, 0.8, 2, 1.0))) + 5 * (X1 > 0) * (X2 > 0)
    df = pd.DataFrame(dict(A=X1.ravel(), B=X2.ravel(), inh=inh.ravel()))
    v = 1 - df.inh.to_numpy() / 100
    t_o, _ = best_of(lambda: cp.synergy(df, ["A", "B"], "inh", methods=("zip",), n_boot=0))
    t_p, _ = best_of(lambda: ZIP().fit(df.A.to_numpy(), df.B.to_numpy(), v))
    rows.append(("ZIP 8x8", t_o, t_p, ""))
    t_o, _ = best_of(lambda: cp.synergy(df, ["A", "B"], "inh", methods=("loewe",), n_boot=0))
    t_p, _ = best_of(lambda: Loewe(mode="delta_weakest").fit(df.A.to_numpy(), df.B.to_numpy(), v))
    rows.append(("Loewe 8x8", t_o, t_p, ""))
    # ---- 10,000 6x6 blocks Bliss + HSA
    rng = np.random.default_rng(0)
    d6 = np.r_[0, np.geomspace(0.1, 10, 5)]
    A, B = np.meshgrid(d6, d6, indexing="ij")
    nb = 10_000
    big = pd.DataFrame({"block": np.repeat(np.arange(nb), 36), "A": np.tile(A.ravel(), nb), "B": np.tile(B.ravel(), nb),
                        "inh": np.clip(rng.uniform(0, 100, nb * 36), 0, 100)})
    t_o, _ = best_of(lambda: cp.synergy(big, ["A", "B"], "inh", by="block", methods=("bliss", "hsa"), n_boot=0), 2)
    rows.append(("10,000 6x6 blocks Bliss+HSA", t_o, np.nan, "target < 1 s"))
    print(f"{'benchmark':40s} {'comboplan s':>12s} {'synergy s':>10s} {'speed-up':>9s}  note")
    for name, a, b, note in rows:
        print(f"{name:40s} {a:12.4f} {b:10.4f} {b / a if np.isfinite(b) else float('nan'):9.1f}  {note}")


if __name__ == "__main__":
    main()
