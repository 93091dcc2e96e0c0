"""docs/tutorial.md runs as written: every ```python block, in order, in one namespace.

The blocks run in a temporary folder (they save figures there) with the Agg backend.  After
the run, the numbers the tutorial's prose quotes are checked against what the code computed
and, where they follow from the papers' printed values by hand calculation, against that
calculation, so the text cannot drift from the code.
"""
from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"
_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[str]:
    """The ```python blocks of a markdown text, in order."""
    return [m.group(1) for m in _BLOCK.finditer(text)]


def test_block_extraction():
    md = "x\n```python\na = 1\n```\n```bash\nls\n```\n```python\nb = a + 1\n```\n"
    assert python_blocks(md) == ["a = 1\n", "b = a + 1\n"]


@pytest.fixture(scope="module")
def tutorial_ns(tmp_path_factory):
    """Execute the tutorial once; return its namespace and the time it took."""
    blocks = python_blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert len(blocks) >= 15, "the tutorial should have one short block per step"
    mp = pytest.MonkeyPatch()
    mp.setenv("MPLBACKEND", "Agg")
    mp.chdir(tmp_path_factory.mktemp("tutorial"))
    ns: dict = {"__name__": "__tutorial__"}
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            # the tutorial shows warnings on purpose (e.g. ExtrapolationWarning of ECx beyond the tested
            # doses); they are recorded (and checked below), not turned into errors by the suite's filter
            warnings.simplefilter("always")
            for i, code in enumerate(blocks, 1):
                try:
                    exec(compile(code, f"{TUTORIAL.name}[block {i}]", "exec"), ns)
                except Exception as exc:  # pragma: no cover - the failure message is the point
                    raise AssertionError(f"tutorial block {i} failed: {exc!r}\n--- block ---\n{code}") from exc
        elapsed = time.perf_counter() - t0
        ns["__files__"] = sorted(p.name for p in Path.cwd().iterdir())
        ns["__warnings__"] = [(w.category.__name__, str(w.message)) for w in caught]
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
        mp.undo()
    ns["__elapsed__"] = elapsed
    return ns


def test_tutorial_runs(tutorial_ns):
    for f in ("dose_response_skbr3.png", "xenograft.png", "bayes_growth.nc"):
        assert f in tutorial_ns["__files__"]


def test_dose_response_numbers(tutorial_ns):
    """Section 1: EC50 and slope are the exact solution through the printed means (100, 75.1, 58 %)."""
    p = tutorial_ns["fit"].params.set_index("param")["estimate"]
    r25, r50 = 100 / 75.1 - 1, 100 / 58.0 - 1          # (d / ec50)^h at 25 and 50 ug/mL
    h = np.log2(r50 / r25)
    ec50 = 25.0 / r25 ** (1 / h)
    assert p["h"] == pytest.approx(h, rel=1e-6)
    assert p["ec50"] == pytest.approx(ec50, rel=1e-6)
    assert round(ec50, 1) == 66.6 and round(h, 2) == 1.13            # quoted in the text
    ec = tutorial_ns["ec"].set_index("x")
    assert bool(ec["extrapolated"].all())                             # 20 % and 50 % lie outside 25-50 ug/mL
    assert any(c == "ExtrapolationWarning" for c, _ in tutorial_ns["__warnings__"])   # "flagged ... either way"
    # replicate wells (synthetic): a real interval, EC20 inside the tested doses
    pw = tutorial_ns["fit_w"].params.set_index("param")
    assert (round(pw.loc["ec50", "estimate"], 1), round(pw.loc["ec50", "ci_low"]), round(pw.loc["ec50", "ci_high"])) \
        == (66.6, 61, 73)
    ec_w = tutorial_ns["ec_w"].set_index("x")
    assert (round(ec_w.loc[50.0, "ci_low"]), round(ec_w.loc[50.0, "ci_high"])) == (61, 74)
    assert round(ec_w.loc[20.0, "estimate"]) == 19 and not ec_w.loc[20.0, "extrapolated"]
    aov, eq = tutorial_ns["aov_mc"], tutorial_ns["eq_mc"]
    assert (aov["df_between"], aov["df_within"]) == (3, 16)                 # "F(3, 16) = 5.6, p = 0.008"
    assert round(aov["f_stat"], 1) == 5.6 and round(aov["p_value"], 3) == 0.008
    assert bool(eq["equivalent"].all()) and float(eq["p_tost"].max()) < 1e-10   # "within +-10 points, TOST p < 1e-10"
    assert (round(float(eq["ci_low"].min()), 1), round(float(eq["ci_high"].max()), 1)) == (-2.7, 0.9)
    assert round(float(eq["difference"].min()), 1) == -1.8                  # "a 1.8-point difference


def test_sparse_synergy_numbers(tutorial_ns):
    """Section 2: Bliss/HSA excess from the printed means; intervals widen with the assumed SD."""
    sec, ptx, combo = tutorial_ns["sec"], tutorial_ns["ptx"], tutorial_ns["combo"]
    assert (sec, ptx, combo) == (37.4, 43.2, 86.4)
    cells = tutorial_ns["syn"].cells.set_index(["method", "assumed_sd"])
    bliss = combo - (sec + ptx - sec * ptx / 100)
    assert cells.loc[("bliss", 5.0), "score"] == pytest.approx(bliss, abs=1e-9)
    assert cells.loc[("bliss", 10.0), "score"] == pytest.approx(bliss, abs=1e-9)
    assert cells.loc[("hsa", 5.0), "score"] == pytest.approx(combo - max(sec, ptx), abs=1e-9)
    lo5, hi5 = cells.loc[("bliss", 5.0), ["ci_low", "ci_high"]]
    lo10, hi10 = cells.loc[("bliss", 10.0), ["ci_low", "ci_high"]]
    assert 0 < lo10 < lo5 < bliss < hi5 < hi10                        # SD 10 -> wider, still above 0
    assert round(lo5, 1) == 12.0 and round(hi5, 1) == 31.9 and round(lo10, 1) == 2.1
    assert round(cells.loc[("bliss", 5.0), "p_value"], 3) == 0.003
    # "holds only if the wells' SD was below about 11 points"
    import comboplan as cp
    w = tutorial_ns["wells"].query("assumed_sd == 5").drop(columns="assumed_sd")
    z = (w["inhibition"] - w.groupby(["secretome", "paclitaxel_uM"])["inhibition"].transform("mean")) / 5.0
    p = {sd: cp.synergy(w.assign(inhibition=w["inhibition"] + (sd - 5.0) * z), doses=["secretome", "paclitaxel_uM"],
                        response="inhibition", methods=("bliss",), replicate="rep").cells["p_value"].iloc[0]
         for sd in (10.5, 11.5)}
    assert p[10.5] < 0.05 < p[11.5]
    # equivalent dose under the stated Hill shape (0-100 %, h = 1): ic50 from 43.2 % at 1 uM
    eq = tutorial_ns["eq"].iloc[0]
    ic50 = (100 - ptx) / ptx
    assert eq["equivalent_dose"] == pytest.approx(ic50 * combo / (100 - combo), rel=1e-6)
    assert round(eq["equivalent_dose"], 1) == 8.4 and eq["ci_low"] < eq["equivalent_dose"] < eq["ci_high"]
    # synthetic 6-well data: same excess at 1 uM, real interval; 3 and 5 uM
    c6 = tutorial_ns["syn6"].cells.query("method == 'bliss'").set_index("paclitaxel_uM")
    assert c6.loc[1.0, "score"] == pytest.approx(bliss, abs=1e-6)
    assert (round(c6.loc[1.0, "ci_low"], 1), round(c6.loc[1.0, "ci_high"], 1)) == (17.7, 26.3)
    assert (round(c6.loc[3.0, "score"], 1), round(c6.loc[5.0, "score"], 1)) == (14.6, 12.2)
    assert (tutorial_ns["syn6"].cells["q_value"] < 0.05).all()
    # "with h = 2 it would be about 2.9 uM"
    ic50_h2 = (ptx / (100 - ptx)) ** -0.5
    assert round(ic50_h2 * (combo / (100 - combo)) ** 0.5, 1) == 2.9


def test_growth_and_bayes_agree(tutorial_ns):
    """Sections 3-4: mixed-model Bliss score and Bayesian interaction estimate the same quantity (opposite sign)."""
    last = tutorial_ns["bliss"].iloc[-1]
    interaction = tutorial_ns["bres"].synergy().iloc[0]
    assert interaction["interaction_mean"] == pytest.approx(-last["score"], abs=0.01)
    assert last["ci_low"] < 0 < last["ci_high"]                        # "the interval is wide"
    assert (round(last["score"], 3), round(last["ci_low"], 2), round(last["ci_high"], 2)) == (-0.018, -0.06, 0.02)
    from comboplan.data.synthetic import XENOGRAFT_RTV14          # the synthetic study's arm-mean day-14 values

    ns = tutorial_ns
    r = {k: np.log(v) / 14 for k, v in XENOGRAFT_RTV14.items()}
    true_score = r[ns["CM"]] + r[ns["PTX"]] - r["control"] - r[ns["BOTH"]]
    assert round(true_score, 3) == -0.012                              # quoted in the text
    rates = ns["mixed"].rates.set_index("arm")["rate"]
    assert rates[ns["CM"]] < rates[ns["PTX"]] < rates["control"]       # the secretome slows growth most


def test_planning_numbers(tutorial_ns):
    """Section 5: calibration exact, the quoted predicted arms, evidence, sensitivity and sample sizes."""
    cal = tutorial_ns["cal"]
    assert np.allclose(cal.fitted, cal.observed, rtol=1e-4)
    assert cal.theta["interaction.gamma"] < 0                         # "antagonism"
    md = tutorial_ns["dr"].minimum_dose.set_index("companion")["min_dose"]
    assert md["primed"] == 0.0 and md["none"] == 10.0                  # "only 10 mg/kg itself qualifies"
    est = tutorial_ns["dr"].table.set_index(["companion", "dose"])["estimate"]
    assert (round(est[("none", 10.0)], 1), round(est[("none", 7.5)], 1), round(est[("primed", 0.0)], 1)) \
        == (1.9, 2.3, 1.1)
    t = tutorial_ns["ss"].table.set_index("n_per_arm")
    assert t.loc[7, "power"] < 0.5 and t["mc_se"].max() < 0.03
    assert tutorial_ns["ss"].settings["n_required"] == 20
    # the predicted arms: control ~4.0 vs 2.74 at 5 mg/kg (A2 not implemented), non-monotone with primed
    pa = tutorial_ns["pa"].set_index(["companion", "paclitaxel_mg_per_kg"])
    assert round(pa.loc[("none", 0.0), "relative_size"], 1) == 4.0
    assert round(pa.loc[("none", 5.0), "relative_size"], 2) == 2.74
    assert not pa.loc["primed", "monotone"].any() and pa.loc["none", "monotone"].all()
    # the printed numbers: SD ~1.1 fold, -143 points (CI about -272 to -14), p about 0.77, Bliss +0.15
    ev = tutorial_ns["ev"]["value"].to_numpy()
    assert round(ev[2] / 100, 1) == 1.1 and round(ev[3]) == -143
    assert round(ev[4], -1) == -270 and round(ev[5]) == -14
    assert round(ev[7], 2) == 0.77 and round(ev[8], 2) == 0.15
    sens = tutorial_ns["sens"]
    assert round(sens["ratio"].min(), 2) == 0.49 and round(sens["ratio"].max(), 2) == 1.01
    assert round(sens["ratio"].iloc[0], 2) == 0.69
    top = sens.iloc[1:].assign(a=lambda x: x["delta_vs_base"].abs()).sort_values("a").iloc[-1]
    assert top["assumption"] == "k2_factor" and top["label"] == "k2 x 2"
    # "roughly 60 to 200 mice per arm" if truly equal
    from comboplan.simulate.power import ttest_power
    sds = [np.sqrt(np.log1p((ev[2] / m) ** 2)) for m in (274.0, 131.0)]
    n_eq = [next(n for n in range(3, 1000) if ttest_power(np.log(1.2) / sd, n, 0.05, "greater") >= 0.8) for sd in sds]
    assert 50 <= n_eq[0] <= 70 and 180 <= n_eq[1] <= 220
    # planning from per-animal data: paclitaxel held at the boundary, the interaction not estimable
    pop = tutorial_ns["tgi"].population.set_index("parameter")
    assert "held at" in pop.loc["interaction.gamma", "note"] and "no detectable kill" in pop.loc["potency.paclitaxel", "note"]
