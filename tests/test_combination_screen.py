"""Screens (issue 12): every block scored, unscorable blocks become rows with the reason;
SynergyFinder 3 ZIP; viability above 150 %; no zero-width intervals."""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import curve_fit

import comboplan as cp
from comboplan.combination.matrix import score_matrix
from comboplan.exceptions import ComboplanWarning, DataError
from comboplan.models.dose_response import hill

D1 = np.array([0, 0.1, 0.3, 1, 3, 10.0])
D2 = np.array([0, 0.2, 0.6, 2, 6, 20.0])


def block(name, e1=1.0, e2=0.8, c1=1.0, c2=2.0, excess=0.0, sd=0.0, seed=0, d1=D1, d2=D2):
    rng = np.random.default_rng(seed)
    A, B = (v.ravel() for v in np.meshgrid(d1, d2, indexing="ij"))
    f1, f2 = hill(A, 0, e1, c1, 1.2), hill(B, 0, e2, c2, 1.0)
    inh = 100 * (1 - (1 - f1) * (1 - f2)) + excess * ((A > 0) & (B > 0)) + (rng.normal(0, sd, A.size) if sd else 0)
    return pd.DataFrame({"blk": name, "A": A, "B": B, "inh": inh})


def alone(df, name, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cp.synergy(df[df.blk == name], ["A", "B"], "inh", n_boot=0, **kw)


def same_rows(screen, one, name):
    a = screen.cells[screen.cells.blk == name].sort_values(["method", "A", "B"])
    b = one.cells.sort_values(["method", "A", "B"])
    assert np.allclose(a.score.to_numpy(), b.score.to_numpy(), atol=1e-9, equal_nan=True)
    ab = screen.blocks[screen.blocks.blk == name].sort_values("method")
    assert np.allclose(ab["mean"].to_numpy(), one.blocks.sort_values("method")["mean"].to_numpy(), atol=1e-9)


# ------------------------------------------------------------------ A: one block never stops a screen
@pytest.mark.filterwarnings("ignore::comboplan.exceptions.ConvergenceWarning")
def test_partial_agents_do_not_stop_the_screen_and_reasons_name_the_block():
    # agents reaching ~25-50 % at the top dose (EC50 at 3x the top dose), noisy: before the fix the
    # Loewe solve failed in this block and synergy(by=...) raised for the whole screen, without
    # naming the block
    df = pd.concat([block("partial", c1=30, c2=60, sd=3, seed=0), block("good", sd=1, seed=3)])
    with pytest.warns(ComboplanWarning, match="partial"):
        res = cp.synergy(df, ["A", "B"], "inh", by="blk", n_boot=0)
    b = res.blocks.set_index(["blk", "method"])
    assert len(b) == 8 and (b.n_cells == 25).all()
    lo = b.loc[("partial", "loewe")]
    assert lo.status in ("partial", "not_scored") and "blk='partial'" in lo.message
    bad = res.cells[(res.cells.status == "not_scored")]
    assert len(bad) and bad.score.isna().all() and bad.message.str.contains("blk='partial'").all()
    assert (res.cells[res.cells.blk == "good"].status == "ok").all()
    same_rows(res, alone(df, "good"), "good")
    # Bliss/HSA of the partial block need no fit: scored
    assert (b.loc[("partial", "bliss"), "status"] == "ok") and np.isfinite(b.loc[("partial", "bliss"), "mean"])
    with pytest.raises(DataError, match="blk='partial'"):
        cp.synergy(df, ["A", "B"], "inh", by="blk", n_boot=0, errors="raise")


def test_missing_monotherapy_unscores_only_its_cells_for_bliss_and_hsa():
    df = pd.concat([block("good", excess=5), block("miss", excess=5).query("not (A == 0.3 and B == 0)")])
    with pytest.warns(ComboplanWarning, match="no monotherapy cell A=0.3 alone in block blk='miss'"):
        res = cp.synergy(df, ["A", "B"], "inh", by="blk", methods=("bliss", "hsa"), n_boot=0)
    m = res.cells[res.cells.blk == "miss"]
    hit = m.A == 0.3
    assert m[hit].score.isna().all() and (m[hit].status == "not_scored").all()
    assert m[hit].message.str.contains("A=0.3 alone in block blk='miss'").all()
    assert np.allclose(m[~hit & (m.method == "bliss")].score, 5.0, atol=1e-9)        # the rest of the block
    blk = res.blocks.set_index(["blk", "method"]).loc[("miss", "bliss")]
    assert blk.status == "partial" and blk.n_cells == 25 and blk.n_scored == 20
    assert blk["mean"] == pytest.approx(5.0, abs=1e-9)                              # mean of the scored cells
    same_rows(res, alone(df, "good", methods=("bliss", "hsa")), "good")


def test_missing_monotherapy_with_replicates_keeps_delta_inference_of_the_other_cells():
    rng = np.random.default_rng(2)
    df = pd.concat([block("miss", excess=5).assign(rep=r) for r in range(3)], ignore_index=True)
    df["inh"] += rng.normal(0, 2, len(df))
    df = df.query("not (A == 1 and B == 0)")
    with pytest.warns(ComboplanWarning):
        res = cp.synergy(df, ["A", "B"], "inh", methods=("bliss",), replicate="rep")
    ok = res.cells[res.cells.status == "ok"]
    assert len(ok) == 20 and (ok.ci_low < ok.score).all() and (ok.score < ok.ci_high).all()
    b = res.blocks.iloc[0]
    assert b.status == "partial" and b.ci_low < b["mean"] < b.ci_high


def test_block_without_combination_cells_and_incomplete_zip_grid():
    df = pd.concat([block("good"), block("mono").query("A == 0 or B == 0"),
                    block("holes").query("not (A == 3 and B == 6)")])
    with pytest.warns(ComboplanWarning):
        res = cp.synergy(df, ["A", "B"], "inh", by="blk", n_boot=0)
    b = res.blocks.set_index(["blk", "method"])
    for m in ("bliss", "hsa", "loewe", "zip"):
        r = b.loc[("mono", m)]
        assert r.status == "not_scored" and r.n_cells == 0 and np.isnan(r["mean"])
        assert "no combination cells" in r.message and "blk='mono'" in r.message
    z = b.loc[("holes", "zip")]
    assert z.status == "not_scored" and "ZIP needs a complete dose matrix including the dose-0 row and column in block blk='holes'" in z.message
    assert b.loc[("holes", "bliss"), "status"] == "ok" and b.loc[("holes", "loewe"), "status"] == "ok"
    same_rows(res, alone(df, "good"), "good")
    # blocks are numbered in the sorted order of their labels (good, holes, mono), whatever the row order
    with pytest.raises(DataError, match="nothing to plot for bliss in block 2: no combination cells"):
        res.plot("bliss", block=2)             # the CLI skips such plots (it catches DataError)


def test_chou_talalay_block_without_mixture_becomes_rows_with_the_reason():
    df = pd.concat([block("good", excess=5, sd=1, seed=1), block("nomix").query("A == 0 or B == 0")])
    with pytest.warns(ComboplanWarning, match="blk='nomix'"):
        res = cp.chou_talalay(df, ["A", "B"], "inh", by="blk")
    p = res.params
    nm = p[p.blk == "nomix"]
    assert len(nm) == 2 and (nm.status == "not_scored").all() and nm.Dm.isna().all()
    assert nm.message.str.contains("needs combination cells .* in block blk='nomix'").all()
    one = cp.chou_talalay(df[df.blk == "good"], ["A", "B"], "inh")
    assert np.allclose(p[p.blk == "good"].Dm.to_numpy(), one.params.Dm.to_numpy(), rtol=1e-12, equal_nan=True)
    assert (p[p.blk == "good"].status == "ok").all()
    with pytest.raises(DataError, match="blk='nomix'"):
        cp.chou_talalay(df, ["A", "B"], "inh", by="blk", errors="raise")


def test_fit_musyc_block_without_combination_cells_becomes_a_row_with_the_reason():
    df = pd.concat([block("good", excess=5), block("nocombo").query("A == 0 or B == 0")])
    kw = dict(response_kind="inhibition", scale="percent", n_boot=0)
    with pytest.warns(ComboplanWarning, match="blk='nocombo'"):
        res = cp.fit_musyc(df, ["A", "B"], "inh", by="blk", **kw)
    f = res.fit.set_index("blk")
    assert f.loc["nocombo", "status"] == "not_scored" and not f.loc["nocombo", "converged"]
    assert "combination observations" in f.loc["nocombo", "message"]
    assert res.params[res.params.blk == "nocombo"].estimate.isna().all()
    one = cp.fit_musyc(df[df.blk == "good"], ["A", "B"], "inh", **kw)
    assert f.loc["good", "rss"] == pytest.approx(float(one.fit.rss.iloc[0]), rel=1e-9)
    with pytest.raises(DataError, match="blk='nocombo'"):
        cp.fit_musyc(df, ["A", "B"], "inh", by="blk", errors="raise", **kw)


# ------------------------------------------------------------------ C: viability above 150 %
def test_viability_above_150_percent_is_accepted():
    v = block("x", excess=4).assign(via=lambda d: 100 - d.inh)
    v.loc[(v.A == 0.1) & (v.B == 0.2), "via"] = 187.0        # growth stimulation in a real screen
    res = cp.synergy(v, ["A", "B"], "via", response_kind="viability", methods=("bliss",), n_boot=0)
    c = res.cells.set_index(["A", "B"]).loc[(0.1, 0.2)]
    # Bliss by hand: monotherapy inhibitions at A=0.1 and B=0.2, observed inhibition 100 - 187 = -87
    e1 = 100 * hill(0.1, 0, 1.0, 1.0, 1.2)
    e2 = 100 * hill(0.2, 0, 0.8, 2.0, 1.0)
    assert c.observed == pytest.approx(-87.0)
    assert c.score == pytest.approx(-87.0 - (e1 + e2 - e1 * e2 / 100), abs=1e-9)
    d = v[v.blk == "x"]
    score_matrix(d.A.to_numpy(), d.B.to_numpy(), d.via.to_numpy(), method="loewe", response_kind="viability")
    with pytest.raises(DataError, match=r"must lie within \[-150, 300\]"):
        cp.synergy(v.assign(via=v.via * 4), ["A", "B"], "via", response_kind="viability", n_boot=0)


# ------------------------------------------------------------------ D: undefined intervals are NaN, not zero-width
@pytest.mark.parametrize("inference", ["bootstrap", "delta"])
def test_flat_data_give_nan_with_status_never_zero_width_intervals(inference):
    flat = pd.concat([block("f", e1=0.0, e2=0.0).assign(inh=50.0, rep=r) for r in range(3)], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cp.synergy(flat, ["A", "B"], "inh", replicate="rep", n_boot=50, seed=1, inference=inference)
    c = res.cells
    lw = c[c.method == "loewe"]
    # both agents inactive: their curves cannot be inverted, Loewe is undefined (was 0 with CI [0, 0], p = 1)
    assert lw.score.isna().all() and (lw.status == "not_scored").all()
    assert lw.message.str.contains("shows no effect").all()
    other = c[c.method != "loewe"]
    # Bliss/HSA/ZIP are defined (-25, 0, -25 points) but identical replicates give no interval
    assert np.allclose(other[other.method == "bliss"].score, -25.0)
    assert np.allclose(other[other.method == "zip"].score, -25.0, atol=1e-6)
    assert other.ci_low.isna().all() and other.p_value.isna().all() and (other.status == "no_interval").all()
    assert other.message.str.contains("does not vary").all()
    blocks = res.blocks.set_index("method")
    assert blocks.loc["loewe", "status"] == "not_scored"
    assert (blocks.loc[["bliss", "hsa", "zip"], "status"] == "no_interval").all()
    assert blocks[["ci_low", "ci_high", "p_value"]].isna().all().all()
    # no zero-width interval anywhere, monotherapy table included
    for t in (c, res.blocks, res.monotherapy):
        w = (t.ci_high - t.ci_low).to_numpy()
        assert not np.any(np.isfinite(w) & (w <= 0))
    mono = res.monotherapy
    assert (mono.status == "not_identifiable").all()


def test_noisy_data_keep_their_intervals_and_status_ok():
    rng = np.random.default_rng(5)
    df = pd.concat([block("x", excess=6).assign(rep=r) for r in range(3)], ignore_index=True)
    df["inh"] += rng.normal(0, 2, len(df))
    res = cp.synergy(df, ["A", "B"], "inh", replicate="rep", n_boot=200, seed=3)
    assert (res.cells.status == "ok").all() and (res.blocks.status == "ok").all()
    assert (res.cells.ci_high > res.cells.ci_low).all()
    assert (res.blocks.message == "").all()


# ------------------------------------------------------------------ B: SynergyFinder 3 ZIP
def _sf3_by_hand(df, top_fixed=None):
    """ZIP delta of every combination cell from the published equations, with scipy's curve_fit.

    Single agents: 4-parameter log-logistic fits (all free).  Slices (SynergyFinder >= 3.0):
    y = y0 + (top - y0) / (1 + (e / x)^h), y0 = observed response at dose 0 of the slice
    (the held agent alone), top, e, h free.  delta = (fit_12 + fit_21)/2 - (y1 + y2 - y1 y2 / 100).
    """
    def ll4(x, e0, einf, c, h):
        with np.errstate(divide="ignore"):
            return e0 + (einf - e0) / (1 + np.exp(h * (np.log(c) - np.log(x))))

    cell = df.set_index(["A", "B"]).inh
    fits = {}
    for k, name in ((0, "A"), (1, "B")):
        s = df[df["B" if k == 0 else "A"] == 0]
        p, _ = curve_fit(ll4, s[name].to_numpy(), s.inh.to_numpy(), p0=[0, 80, 1, 1], maxfev=20000)
        fits[name] = p
    out = {}
    for a in D1[1:]:
        for b in D2[1:]:
            vals = []
            for varied, held, hv in (("A", "B", b), ("B", "A", a)):
                s = df[(df[held] == hv) & (df[varied] > 0)]
                y0 = cell.loc[(0.0, hv)] if varied == "A" else cell.loc[(hv, 0.0)]

                def sl(x, top, e, h, y0=y0):
                    return y0 + (top - y0) / (1 + (e / x) ** h)

                def power(x, amp, h, y0=y0):          # the slice's limit when it has no plateau
                    return y0 + amp * x ** h
                xs, ys = s[varied].to_numpy(), s.inh.to_numpy()
                best = (np.inf, None)
                for f, p0, bnd in ((sl, [90, np.median(xs), 1.0], ([-np.inf, 1e-9, 1e-3], [np.inf, np.inf, 50])),
                                   (sl, [60, np.min(xs), 2.0], ([-np.inf, 1e-9, 1e-3], [np.inf, np.inf, 50])),
                                   (power, [1.0, 0.5], ([-np.inf, 1e-3], [np.inf, 50]))):
                    try:
                        p, _ = curve_fit(f, xs, ys, p0=p0, bounds=bnd, maxfev=20000)
                    except RuntimeError:
                        continue
                    rss = np.sum((f(xs, *p) - ys) ** 2)
                    if rss < best[0]:
                        best = (rss, lambda x, f=f, p=p: f(x, *p))
                vals.append(best[1](a if varied == "A" else b))
            y1, y2 = ll4(a, *fits["A"]), ll4(b, *fits["B"])
            out[(a, b)] = 0.5 * (vals[0] + vals[1]) - (y1 + y2 - y1 * y2 / 100)
    return pd.Series(out)


def test_zip_v3_per_cell_equals_the_published_equations_by_hand():
    df = block("x", excess=8, sd=2.0, seed=11)
    res = cp.synergy(df, ["A", "B"], "inh", methods=("zip",), n_boot=0, zip_version="3")
    ours = res.cells.set_index(["A", "B"]).score
    hand = _sf3_by_hand(df).loc[ours.index]
    assert np.allclose(ours.to_numpy(), hand.to_numpy(), atol=5e-4)        # 3.5e-5 measured
    # the block score is the mean over the combination cells
    assert res.blocks["mean"].iloc[0] == pytest.approx(ours.mean(), abs=1e-12)
    # outputs say which SynergyFinder they reproduce
    assert (res.cells.reference_model == "zip (SynergyFinder >= 3.0)").all()
    assert "SynergyFinder >= 3.0" in res.settings["references"]["zip"] and "SynergyFinder >= 3.0" in res.summary()
    old = cp.synergy(df, ["A", "B"], "inh", methods=("zip",), n_boot=0, zip_version="2")
    assert (old.cells.reference_model == "zip (SynergyFinder 1-2)").all()
    assert not np.allclose(old.cells.score.to_numpy(), ours.to_numpy(), atol=0.1)


def test_zip_v3_is_zero_on_a_bliss_surface_with_partial_agents_where_v2_is_biased():
    # noise-free Bliss-independent surface, agents reaching 60 % and 50 %: every v3 slice is an exact
    # log-logistic from the observed dose-0 response to a top below 100, so delta = 0; v2 fixes the
    # top at 100 % and is biased
    df = block("x", e1=0.6, e2=0.5)
    v3 = cp.synergy(df, ["A", "B"], "inh", methods=("zip",), n_boot=0, zip_version="3").cells.score
    v2 = cp.synergy(df, ["A", "B"], "inh", methods=("zip",), n_boot=0, zip_version="2").cells.score
    assert np.abs(v3).max() < 1e-5
    assert np.abs(v2).max() > 1.0


def test_zip_v3_in_bootstrap_and_screens():
    rng = np.random.default_rng(7)
    df = pd.concat([block(n, excess=e).assign(rep=r) for n, e in (("a", 0), ("b", 8)) for r in range(2)],
                   ignore_index=True)
    df["inh"] += rng.normal(0, 2, len(df))
    res = cp.synergy(df, ["A", "B"], "inh", by="blk", methods=("zip",), replicate="rep", n_boot=100, seed=1)
    b = res.blocks.set_index("blk")
    assert b.loc["b", "ci_low"] < 8 < b.loc["b", "ci_high"] and b.loc["b", "p_value"] < 0.05
    assert b.loc["a", "ci_low"] < 0 < b.loc["a", "ci_high"]


def one_call_and_chunked(monkeypatch, df, kw, chunk_attr, size):
    """``synergy`` on ``df`` in one pass, then with ``api.<chunk_attr>`` set to ``size`` (chunked,
    warning about unscored blocks); asserts that every table and setting but ``chunks`` is equal."""
    import comboplan.combination.api as api

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = cp.synergy(df, ["A", "B"], "inh", **kw)
    monkeypatch.setattr(api, chunk_attr, size)
    with pytest.warns(ComboplanWarning, match="not fully scored"):
        chunked = cp.synergy(df, ["A", "B"], "inh", **kw)
    for name in ("cells", "blocks", "monotherapy"):
        pd.testing.assert_frame_equal(getattr(chunked, name), getattr(one, name), check_exact=True, obj=name)
    assert {k: v for k, v in chunked.settings.items() if k != "chunks"} == one.settings
    return one, chunked


@pytest.mark.parametrize("n_boot,replicates", [(0, True), (1000, False)])
def test_large_bliss_hsa_screen_scored_in_chunks_equals_one_call(monkeypatch, n_boot, replicates):
    """Bliss/HSA screens with more than BLOCK_CHUNK blocks are scored chunk by chunk (bounded working
    memory); every table equals the one-call tables exactly (q-values recomputed over all blocks),
    including unscored blocks and blocks of other grid sizes."""
    parts = [block(f"b{i:02d}", excess=3.0 * (i % 4), sd=2.0, seed=i) for i in range(11)]
    parts.append(block("b11", d1=D1[:4], seed=11, sd=2.0))
    parts[3] = parts[3][~((parts[3].A > 0) & (parts[3].B == 0))]       # no monotherapy of A: unscored
    df = pd.concat(parts, ignore_index=True).sample(frac=1, random_state=3).reset_index(drop=True)
    kw = dict(by="blk", methods=("bliss", "hsa"), n_boot=n_boot)
    if replicates:
        df = pd.concat([df.assign(rep=0), df.assign(rep=1, inh=df.inh + 1.5)], ignore_index=True)
        kw["replicate"] = "rep"
    one, chunked = one_call_and_chunked(monkeypatch, df, kw, "BLOCK_CHUNK", 5)
    assert chunked.settings["chunks"]["n_chunks"] == 3


@pytest.mark.filterwarnings("ignore::comboplan.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kw", [
    dict(methods=("bliss", "hsa", "loewe", "zip")),
    dict(methods=("bliss", "hsa"), monotherapy="fitted"),
    dict(methods=("bliss", "loewe"), baseline_correction=True),
    dict(methods=("zip", "loewe"), zip_version="2", loewe_method="dose_equivalence"),
], ids=["four", "fitted", "baseline", "zip2-equivalence"])
def test_large_fitted_screen_scored_in_chunks_equals_one_call(monkeypatch, kw):
    """Screens whose methods fit curves (Loewe, ZIP, fitted monotherapy, baseline correction) with
    more than FIT_BLOCK_CHUNK blocks are scored chunk by chunk, each chunk fitting as the one call
    does (the one call fits its 24 single-agent curves with the batch engine, a 4-block chunk alone
    would use MINPACK; one block has a narrower grid): every table equals the one-call tables
    exactly, unscored and noisy blocks included."""
    import comboplan.combination.api as api

    parts = [block(f"b{i:02d}", e1=0.6 + 0.03 * i, excess=3.0 * (i % 4), sd=2.0, seed=i) for i in range(11)]
    parts.append(block("b11", d1=D1[:5], seed=11, sd=2.0))
    parts[3] = parts[3][~((parts[3].A > 0) & (parts[3].B == 0))]       # no monotherapy of A: unscored
    df = pd.concat(parts, ignore_index=True).sample(frac=1, random_state=3).reset_index(drop=True)
    kw = dict(kw, by="blk", n_boot=0)
    one, chunked = one_call_and_chunked(monkeypatch, df, kw, "FIT_BLOCK_CHUNK", 4)
    assert chunked.settings["chunks"] == {"blocks_per_chunk": 4, "n_chunks": 3}
    # without the whole call's plan the chunks would fit differently: the check above can fail
    monkeypatch.setattr(api, "synergy_fit_sizes", lambda *a, **k: {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unplanned = cp.synergy(df, ["A", "B"], "inh", **kw)
    assert not unplanned.cells["score"].equals(one.cells["score"])


def test_progress_bar_over_the_chunks_of_a_large_screen(monkeypatch, capsys):
    """progress=True shows a tqdm bar over the chunks (both passes when curves are fitted) and
    changes no number; a screen scored in one pass shows none."""
    import comboplan.combination.api as api

    df = pd.concat([block(f"b{i:02d}", excess=2.0 * (i % 3), sd=2.0, seed=i) for i in range(9)], ignore_index=True)
    kw = dict(by="blk", methods=("bliss", "loewe"), n_boot=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quiet = cp.synergy(df, ["A", "B"], "inh", progress=True, **kw)
        assert "synergy:" not in capsys.readouterr().err          # one pass: no bar
        monkeypatch.setattr(api, "FIT_BLOCK_CHUNK", 4)
        shown = cp.synergy(df, ["A", "B"], "inh", progress=True, **kw)
    err = capsys.readouterr().err
    assert "synergy: sizing the fits (chunks of 4 blocks)" in err and "synergy: scoring (chunks of 4 blocks)" in err
    assert "3/3" in err
    pd.testing.assert_frame_equal(shown.cells, quiet.cells, check_exact=True)
    with pytest.raises(ValueError, match="progress"):
        cp.synergy(df, ["A", "B"], "inh", progress="yes", **kw)


@pytest.mark.parametrize("errors", ["warn", "raise"])
def test_large_chou_talalay_screen_in_chunks_equals_one_call(monkeypatch, errors):
    """chou_talalay on more than CT_BLOCK_CHUNK blocks runs chunk by chunk: the four tables equal
    the one call's exactly (columns, dtypes, order), with blocks that cannot be analysed, a
    chunk where no block can (its points/levels/isobologram pieces are empty), cells with
    fa >= 1 (a text note) and two block columns; errors="raise" raises the same error."""
    import comboplan.combination.chou_talalay as ctm

    parts = [block(f"b{i:02d}", excess=4.0 * (i % 3), sd=1.5, seed=i).assign(plate=i % 2) for i in range(9)]
    for i in (4, 5):                                  # chunk (b04, b05): no combination cells at all
        parts[i] = parts[i][(parts[i].A == 0) | (parts[i].B == 0)]
    parts[7].loc[(parts[7].A == D1[-1]) & (parts[7].B > 0), "inh"] = 101.0       # fa >= 1: CI undefined
    df = pd.concat(parts, ignore_index=True).sample(frac=1, random_state=4).reset_index(drop=True)
    kw = dict(by=["blk", "plate"], errors="warn")
    if errors == "raise":
        with pytest.raises(DataError) as one_err:
            cp.chou_talalay(df, ["A", "B"], "inh", by=["blk", "plate"], errors="raise")
        monkeypatch.setattr(ctm, "CT_BLOCK_CHUNK", 2)
        with pytest.raises(DataError) as chunk_err:
            cp.chou_talalay(df, ["A", "B"], "inh", by=["blk", "plate"], errors="raise")
        assert str(chunk_err.value) == str(one_err.value)
        return
    with pytest.warns(ComboplanWarning, match="2 block"):
        one = cp.chou_talalay(df, ["A", "B"], "inh", **kw)
    monkeypatch.setattr(ctm, "CT_BLOCK_CHUNK", 2)
    with pytest.warns(ComboplanWarning, match="2 block"):
        chunked = cp.chou_talalay(df, ["A", "B"], "inh", **kw)
    assert (one.points["note"] != "").any() and (one.params["status"] != "ok").sum() == 4
    for name in ("params", "points", "levels", "isobologram"):
        pd.testing.assert_frame_equal(getattr(chunked, name), getattr(one, name), check_exact=True, obj=name)
    assert chunked.settings == one.settings


def test_observation_order_is_canonical_whatever_the_input_order():
    """prepare() puts observations in (cell, value) order; rows already in that order skip the
    sort; any other row order gives the same design arrays."""
    from comboplan.combination.design import prepare

    rng = np.random.default_rng(5)
    df = pd.concat([block(f"b{i}", seed=i, sd=3.0) for i in range(3)], ignore_index=True)
    df = pd.concat([df.assign(rep=0), df.assign(rep=1, inh=df.inh + rng.normal(0, 2, len(df)))], ignore_index=True)
    base = prepare(df, ["A", "B"], "inh", by="blk", replicate="rep")
    cell, eff = base.obs_data["_cell"], base.obs_data["_effect"]
    key_ok = (cell[1:] > cell[:-1]) | ((cell[1:] == cell[:-1]) & (eff[1:] >= eff[:-1]))
    assert key_ok.all()
    # the canonical order as input: the fast path, and the same arrays
    canon = df.loc[base.obs_data["_row"]].reset_index(drop=True)
    for frame in (canon, df.sample(frac=1, random_state=2)):
        d = prepare(frame, ["A", "B"], "inh", by="blk", replicate="rep")
        for k in ("_cell", "_effect", "_block", "A", "B"):
            assert np.array_equal(d.obs_data[k], base.obs_data[k]), k


def test_rank_within_blocks_is_the_dense_rank_in_each_block():
    """Both paths of _rank_within_blocks (counting for few (block, level) pairs, sorting for many)
    give each level's dense rank within its block and each block's number of levels."""
    from comboplan.combination.api import _rank_within_blocks

    rng = np.random.default_rng(0)
    for nb, n_levels, n in ((1, 8, 49), (7, 5, 200), (3, 600_000, 90)):   # the last: the sorting path
        blk = np.sort(rng.integers(0, nb, n))
        lc = rng.integers(0, n_levels, n)
        rank, count = _rank_within_blocks(blk, lc, n_levels, nb)
        for b in range(nb):
            sel = blk == b
            levels, inv = np.unique(lc[sel], return_inverse=True)
            assert np.array_equal(rank[sel], inv.ravel()) and count[b] == len(levels)
