"""The truths of ``benchmarks/calibration_tgi_bayes_ode.py --draw-from-prior``: drawn from the fit's
own priors (the premise of that calibration), reproducibly per study, and judged per study."""
import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


@pytest.fixture(scope="module")
def cal():
    sys.path.insert(0, BENCH)
    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        import calibration_tgi_bayes_ode as c
    finally:
        sys.argv = argv
    return c


def test_prior_truths_follow_the_fits_priors(cal):
    from comboplan.fitting.bayes.tgi_ode import _PRIOR_SD

    draws = [cal.prior_truth(s, ("k1", "interaction.gamma")) for s in range(3000, 7000)]
    lk = np.log([d["k1"] for d in draws])
    g = np.array([d["interaction.gamma"] for d in draws])
    n = len(draws)
    # log k1 ~ Normal(log 1, _PRIOR_SD["k1"]): mean within 4 MC SE, SD within 4 MC SE (SE of an SD ~ s / sqrt(2n))
    assert abs(lk.mean()) < 4 * _PRIOR_SD["k1"] / np.sqrt(n)
    assert abs(lk.std(ddof=1) - _PRIOR_SD["k1"]) < 4 * _PRIOR_SD["k1"] / np.sqrt(2 * n)
    # gamma ~ Normal(0, 1) truncated at -2: mean phi(2) / (1 - Phi(-2)) = 0.0553, nothing below -2
    # (lambda = phi(-2) / (1 - Phi(-2)) = 0.05525; variance 1 - 2 lambda - lambda^2: SD 0.9415)
    assert g.min() >= -2.0
    assert abs(g.mean() - 0.05525) < 4 * 0.9415 / np.sqrt(n)
    assert abs(g.std(ddof=1) - 0.9415) < 4 * 0.9415 / np.sqrt(2 * n)
    # the other parameters stay at the design values; the same seed gives the same truths
    assert all(d["w0"] == cal.TRUE["w0"] and d["potency.paclitaxel"] == cal.TRUE["potency.paclitaxel"] for d in draws)
    assert cal.prior_truth(3005, ("k1",)) == cal.prior_truth(3005, ("k1",))
    # k1 alone draws the same k1 as k1 with gamma (one stream, fixed order)
    assert cal.prior_truth(3005, ("k1",))["k1"] == cal.prior_truth(3005, ("interaction.gamma", "k1"))["k1"]
    assert cal.prior_truth(3005, ("k1",))["interaction.gamma"] == cal.TRUE["interaction.gamma"]


def test_summary_judges_each_study_against_its_own_truth(cal, capsys):
    t = dict(cal.TRUE)

    def row(seed, k1_true, lo, hi):
        est = {k: [v, 0.1 * v, 0.9 * v, 1.1 * v] for k, v in t.items() if k != "interaction.gamma"}
        est["k1"] = [0.5 * (lo + hi), 0.1, lo, hi]
        est["interaction.gamma"] = [0.5, 0.3, 0.0, 1.0]
        return {"seed": seed, "seconds": 1.0, "divergences": 0, "rhat_max": 1.0, "est": est,
                "truth": dict(t, k1=k1_true), "drawn": ["interaction.gamma", "k1"]}

    # 9 of 10 intervals contain their own study's k1 (none contains the design value 1)
    rows = [row(s, 2.0, 1.5, 2.5) for s in range(9)] + [row(9, 3.0, 1.5, 2.5)]
    cal.summarise(rows)
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("k1 "))
    assert float(line.split()[2]) == pytest.approx(0.9)
    # gamma is judged when drawn (no "not judged" note)
    assert "not judged" not in next(ln for ln in out.splitlines() if ln.startswith("interaction.gamma"))
    # records of a fixed-truth run and a drawn run are not summarised together
    fixed = dict(rows[0])
    del fixed["truth"], fixed["drawn"]
    with pytest.raises(SystemExit):
        cal.summarise(rows + [fixed])
