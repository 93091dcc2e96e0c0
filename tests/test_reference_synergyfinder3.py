"""comboplan against SynergyFinder 3's own printed per-cell scores of its documented example
(``tests/reference/synergyfinder3/``: the vignette's ``str(res$synergy_scores)`` for block 1 of
``mathews_screening_data``; provenance and limits in the README there).

Compared: the observed inhibition, the HSA and Bliss references and scores of the five printed
cells, to the printed precision (half a unit of the last printed digit).  Not compared: ZIP and
Loewe, which rest on single-agent fits of two step-like curves whose potency and slope are not
identified (see the README); comboplan reports the Loewe cells of this block as not scored.
"""
import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest

import comboplan as cp

HERE = os.path.join(os.path.dirname(__file__), "reference", "synergyfinder3")


def _half_unit(printed):
    """Half a unit of the last printed digit of each number (3.1 -> 0.05, 20.89 -> 0.005, 62 -> 0.5)."""
    out = []
    for v in printed:
        s = repr(float(v)) if not float(v).is_integer() else str(int(v))
        dec = len(s.split(".")[1]) if "." in s else 0
        out.append(0.5 * 10.0 ** (-dec))
    return np.array(out)


@pytest.fixture(scope="module")
def scored():
    data = pd.read_csv(os.path.join(HERE, "mathews_block1.csv"))
    with open(os.path.join(HERE, "printed_scores.json")) as fh:
        ref = json.load(fh)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # the step-like single agents warn (not identifiable)
        res = cp.synergy(data, ["ispinesib_nM", "ibrutinib_nM"], "viability_pct",
                         methods=("hsa", "bliss", "loewe"), response_kind="viability", n_boot=0)
    return data, ref, res


def _cells(res, method, ref):
    c = res.cells[res.cells["method"] == method].set_index(["ispinesib_nM", "ibrutinib_nM"])
    # the printed doses are rounded (0.781 for 0.7812): match each to the nearest tested dose
    d2 = np.array(sorted(set(c.index.get_level_values(1))))
    keys = [(a, d2[np.argmin(np.abs(d2 - b))]) for a, b in zip(ref["cells_conc1"], ref["cells_conc2"])]
    return c.loc[keys]


@pytest.mark.parametrize("method,prefix", [("hsa", "HSA"), ("bliss", "Bliss")])
def test_hsa_and_bliss_equal_synergyfinder3_printed_cells(scored, method, prefix):
    _, ref, res = scored
    c = _cells(res, method, ref)
    obs = np.array(ref["response_inhibition"])
    assert np.all(np.abs(c["observed"].to_numpy() - obs) <= _half_unit(obs) + 1e-9)
    for col, key in (("reference", f"{prefix}_ref"), ("score", f"{prefix}_synergy")):
        want = np.array(ref[key])
        got = c[col].to_numpy()
        assert np.all(np.abs(got - want) <= _half_unit(want) + 1e-9), (col, got, want)
    # the sign convention SynergyFinder uses too: positive = synergy, on % inhibition
    assert (c["sign_convention"].astype(str).str.startswith("positive = synergy")).all()
    assert (c["response_kind"] == "viability").all()


def test_loewe_is_not_scored_where_the_single_agent_curves_are_unidentified(scored):
    """SynergyFinder prints Loewe numbers for this block from step-like single-agent fits
    (e.g. a reference of -14.9 % at ibrutinib 0.195 nM, below the untreated control); comboplan
    names the reason instead of scoring."""
    _, ref, res = scored
    c = _cells(res, "loewe", ref)
    assert c["score"].isna().all()
    assert (c["status"] == "not_scored").all()
    assert c["message"].astype(str).str.contains("cannot be inverted").all()
    mono = res.monotherapy
    assert (mono["status"] == "not_identifiable").all()
