"""Per-animal growth fits on the batch engine, plots and the CLI."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import comboplan as cp  # noqa: E402
from comboplan.models.growth import gompertz  # noqa: E402


def test_public_names_resolve():
    for name in ("fit_growth", "fit_growth_mixed", "growth_endpoints", "invivo_synergy", "read_growth_wide"):
        assert callable(getattr(cp, name))


def _gompertz_study(seed=0, n=6):
    rng = np.random.default_rng(seed)
    days = np.arange(0, 43, 3.0)
    rows = []
    for arm, r in (("ctl", 0.08), ("trt", 0.05)):
        for i in range(n):
            v = gompertz(days, 80.0 * np.exp(rng.normal(0, 0.1)), r, 2500.0) * np.exp(rng.normal(0, 0.05, days.size))
            rows += [(f"{arm}{i}", arm, d, x) for d, x in zip(days, v)]
    return pd.DataFrame(rows, columns=["mouse", "arm", "day", "vol"])


@pytest.mark.filterwarnings("ignore::comboplan.exceptions.ConvergenceWarning")
def test_fit_growth_recovers_gompertz_and_selects_it():
    fit = cp.fit_growth(_gompertz_study(), "mouse", "arm", "day", "vol", errors="warn")
    best = fit.best_model()
    assert (best["model"] == "gompertz").mean() >= 0.75
    g = fit.arm_summary.query("model == 'gompertz' and param == 'r'").set_index("arm")["mean"]
    assert g["ctl"] == pytest.approx(0.08, rel=0.1) and g["trt"] == pytest.approx(0.05, rel=0.1)
    vmax = fit.arm_summary.query("model == 'gompertz' and param == 'vmax'")["mean"]
    np.testing.assert_allclose(vmax, 2500.0, rtol=0.15)
    pred = fit.predict([0.0, 21.0], model="gompertz")
    assert pred.dims == ("subject", "time") and np.all(pred.values > 0)
    assert fit.params["unit"].isin(["mm^3", "1/day", "mm^3/day"]).all()


def test_exponential_fit_matches_log_linear_regression():
    df = _gompertz_study(1)
    fit = cp.fit_growth(df, "mouse", "arm", "day", "vol", models=["exponential"])
    one = df[df.mouse == "ctl0"]
    slope = np.polyfit(one["day"], np.log(one["vol"]), 1)[0]
    r = fit.params.query("subject == 'ctl0' and param == 'r'")["estimate"].iloc[0]
    assert r == pytest.approx(slope, rel=1e-6)


def test_plots_return_axes():
    from comboplan.growth.data import validate_growth
    from comboplan.plot.growth import plot_spaghetti

    df = _gompertz_study(2, n=3)
    gd = validate_growth(df, "mouse", "arm", "day", "vol")
    assert plot_spaghetti(gd).get_yscale() == "log"
    fit = cp.fit_growth(gd, models=["exponential"])
    assert fit.plot() is not None
    mixed = cp.fit_growth_mixed(gd, backend="gls")
    assert mixed.plot().get_xlabel().startswith("time since baseline")
    ep = cp.growth_endpoints(gd, control="ctl", n_boot=0)
    assert ep.plot().get_ylabel().startswith("best response")
    import matplotlib.pyplot as plt
    plt.close("all")


def test_cli_writes_tables_and_plots(tmp_path):
    from comboplan.cli import main

    rng = np.random.default_rng(0)
    rows = []
    for arm, r in (("vehicle", 0.1), ("A", 0.08), ("B", 0.07), ("A+B", 0.03)):
        for i in range(5):
            for d in (0, 7, 14, 21):
                rows.append((f"{arm}{i}", arm, d, 100 * np.exp(r * d + rng.normal(0, 0.1))))
    p = tmp_path / "mice.csv"
    pd.DataFrame(rows, columns=["mouse", "group", "day", "vol"]).to_csv(p, index=False)
    out = tmp_path / "out"
    rc = main(["growth", str(p), "--subject", "mouse", "--arm", "group", "--time", "day", "--size", "vol",
               "--control", "vehicle", "--n-boot", "100", "--models", "exponential", "-o", str(out)])
    assert rc == 0
    for f in ("growth_rates_mixed.csv", "synergy_over_time.csv", "mrecist.csv", "spaghetti.png",
              "synergy_over_time.png", "waterfall.png"):
        assert (out / f).exists(), f
    syn = pd.read_csv(out / "synergy.csv")
    assert set(syn["reference"]) == {"bliss", "hsa", "ra"}


def test_per_animal_rate_ci_coverage():
    """200 animals with known rates: the 95% Wald-t interval of r covers the truth ~95% of the time."""
    rng = np.random.default_rng(8)
    days = np.array([0.0, 4, 8, 12, 16, 20])
    rows, truth = [], {}
    for i in range(200):
        r = rng.uniform(0.02, 0.15)
        truth[f"m{i}"] = r
        v = 100 * np.exp(r * days + rng.normal(0, 0.2, days.size))
        rows += [(f"m{i}", "ctl" if i % 2 else "trt", d, x) for d, x in zip(days, v)]
    fit = cp.fit_growth(pd.DataFrame(rows, columns=["mouse", "arm", "day", "vol"]), "mouse", "arm", "day", "vol",
                        models=["exponential"])
    p = fit.params[fit.params.param == "r"].set_index("subject")
    t = pd.Series(truth)[p.index]
    cover = np.mean((p["ci_low"] <= t) & (t <= p["ci_high"]))
    assert 0.91 <= cover <= 0.985, cover


def test_unidentified_asymptotes_are_flagged_and_left_out_of_arm_summaries():
    """Pure exponential growth: a logistic fit's vmax runs away (reduces to exponential); it must be
    flagged identified=False and not averaged into the arm summary."""
    import warnings

    rng = np.random.default_rng(3)
    rows = []
    for arm in ("a", "b"):
        for i in range(5):
            r = 0.08 + rng.normal(0, 0.01)
            for t in (0.0, 7.0, 14.0, 21.0):
                rows.append({"m": f"{arm}{i}", "arm": arm, "day": t,
                             "v": 100 * np.exp(r * t + rng.normal(0, 0.05))})
    df = pd.DataFrame(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cp.fit_growth(df, "m", "arm", "day", "v", models=("exponential", "logistic"), errors="warn")
    f = fit.fits
    lg = f[f.model == "logistic"]
    vmax = fit.params.query("model == 'logistic' and param == 'vmax'").estimate.to_numpy()
    maxobs = df.groupby("m", sort=True).v.max().reindex(fit.params.query(
        "model == 'logistic' and param == 'vmax'").subject).to_numpy()
    runaway = lg.converged.to_numpy() & (vmax > 100 * maxobs)
    assert (~lg.identified.to_numpy()[runaway]).all()
    assert lg.identified.sum() + runaway.sum() <= len(lg)
    s = fit.arm_summary.query("model == 'logistic' and param == 'vmax'")
    assert (s.n.to_numpy() == [lg[(lg.arm == a)].identified.sum() for a in s.arm]).all()
    assert (f[f.model == "exponential"].identified).all()
