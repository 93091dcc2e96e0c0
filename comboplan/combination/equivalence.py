"""Equivalent dose: the dose of one agent alone that gives a combination's observed effect
(:func:`equivalent_dose`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .._params import Integral, Interval, Real, invalid, renamed_params, validate_params
from ..exceptions import DataError
from .design import prepare
from .scoring import _block_name as _blk
from .scoring import resample_obs
from .stats import as_rng

__all__ = ["equivalent_dose"]


# ====================================================================== equivalent dose
@renamed_params(ci="ci_level")
@validate_params({
    "combination": [dict],
    "n_boot": [Interval(Integral, 0, None)],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "seed": ["seed"],
}, fixes={"combination": "e.g. {'pac_uM': 1, 'sec': 1}"})
def equivalent_dose(data, doses, response, *, agent, combination, by=None, replicate=None,
                    response_kind="inhibition", scale="percent", fixed=None, n_boot=2000, ci_level=0.95,
                    seed=None) -> pd.DataFrame:
    """Dose of one agent alone that gives the effect observed for a combination.

    The papers' question ("which paclitaxel dose alone matches 1 uM paclitaxel +
    secretome?"): the agent's single-agent Hill curve (all replicates, with the
    untreated controls as dose 0) is inverted at the combination's mean effect.  The
    interval is a bootstrap of replicates within cells (agent curve and combination
    cell resampled together and the curve refitted, batched).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (not modified).
    doses : list of str
        All dose columns of the design.
    response : str
        Response column.
    agent : str
        The dose column of the agent whose equivalent dose is sought.
    combination : dict
        ``{dose column: dose}`` of the combination cell, naming every dose column of
        ``doses`` (give 0 for an absent agent: nothing is filled in).
    by, replicate, response_kind, scale : optional
        As in :func:`synergy`.
    fixed : dict, optional
        Hill parameters to hold fixed (``{"einf": 100}`` when the tested doses do not
        reach the plateau; the four-parameter fit needs >= 4 dose levels incl. 0).
    n_boot : int
        Bootstrap refits.
    ci_level : float
        Confidence level.  (``ci=`` is a deprecated alias.)
    seed : int or Generator, optional

    Returns
    -------
    pandas.DataFrame
        One row per block: ``combination_effect`` (mean, with CI), the agent's
        ``dose_in_combination``, ``equivalent_dose`` with ``ci_low``/``ci_high`` (dose
        unit of ``agent``; ``inf`` when the effect is beyond the agent's fitted maximum
        ``agent_max_effect``), ``dose_ratio`` (equivalent / in combination: the
        dose-reduction factor), ``p_not_reached`` (fraction of bootstrap draws where
        the agent alone cannot reach the effect), ``note``.

    Raises
    ------
    InvalidParameterError
        ``combination`` does not name every dose column (or names an unknown one),
        ``n_boot < 0``, ``ci_level`` outside (0, 1).
    DataError
        Malformed data, or no cell with the combination's doses.
    """
    from ..models.combination.loewe import hill_dose_for_effect
    from .fits import fit_hill

    design = prepare(data, doses, response, by=by, replicate=replicate, response_kind=response_kind, scale=scale)
    if agent not in design.doses:
        raise DataError(f"agent {agent!r} is not one of the dose columns {list(design.doses)!r}.")
    unknown = [k for k in combination if k not in design.doses]
    missing = [d for d in design.doses if d not in combination]
    if unknown or missing:
        what = (f"a dict over the dose columns only ({unknown!r} are not dose columns)" if unknown
                else f"a dict giving a dose for every dose column ({missing!r} missing)")
        raise invalid("equivalent_dose", "combination", what, combination,
                      "e.g. {" + ", ".join(f"{d!r}: {combination.get(d, 0)!r}" for d in design.doses)
                      + "} (0 for an absent agent)")
    target = np.array([float(combination[d]) for d in design.doses])
    cells = design.cells
    obs = design.obs
    k = design.doses.index(agent)
    rng = as_rng(seed)
    S = 1 + int(n_boot)
    ysets = np.concatenate([obs["_effect"].to_numpy()[None], resample_obs(design, int(n_boot), rng)]) \
        if n_boot > 0 else obs["_effect"].to_numpy()[None]
    out = []
    for b in range(len(design.blocks)):
        cb = cells[cells["_block"] == b]
        m = np.all(np.isclose(cb[list(design.doses)].to_numpy(), target[None]), axis=1)
        if not m.any():
            raise DataError("no cell with doses " + ", ".join(f"{d}={v:g}" for d, v in zip(design.doses, target))
                            + f"{_blk(design, b)}; check the combination= doses.")
        cid = cb.index[m][0]
        inb = obs["_block"].to_numpy() == b
        crole = cells["role"].to_numpy()[obs["_cell"].to_numpy()]
        cagent = cells["agent"].to_numpy()[obs["_cell"].to_numpy()]
        rows = np.flatnonzero(inb & ((crole == "control") | ((crole == "mono") & (cagent == agent))))
        x = obs[agent].to_numpy()[rows]
        if len(np.unique(x)) < 4 - len(fixed or {}):
            raise DataError(f"the Hill fit of {agent!r} alone needs >= {4 - len(fixed or {})} dose levels including 0"
                            f"{_blk(design, b)}; found {sorted(np.unique(x).tolist())}. Pass fixed={{'einf': 100}} "
                            "to fix the plateau, or add doses.")
        crow = np.flatnonzero(obs["_cell"].to_numpy() == cid)
        Y = ysets[:, rows]
        fit = fit_hill(np.broadcast_to(x, Y.shape), Y, fixed=fixed)
        P = np.where(fit.converged[:, None], fit.estimates, np.nan)
        E = ysets[:, crow].mean(axis=1)
        eq = hill_dose_for_effect(E, P[:, 0], P[:, 1], P[:, 2], P[:, 3])
        z = 0.5 + ci_level / 2
        fin = np.isfinite(P[1:, 0])
        bq = eq[1:][fin]
        # "not reached" replicates give an infinite equivalent dose: take order statistics (no
        # interpolation against inf) so that the upper limit is inf when they exceed 1 - z
        has_inf = bool(np.isinf(bq).any())
        lo = np.quantile(bq, 1 - z, method="lower" if has_inf else "linear") if len(bq) else np.nan
        hi = np.quantile(bq, z, method="higher" if has_inf else "linear") if len(bq) else np.nan
        pnr = float(np.mean(np.isinf(bq))) if len(bq) else np.nan
        elo, ehi = (np.quantile(E[1:], [1 - z, z]) if S > 1 else (np.nan, np.nan))
        note = ""
        if np.isinf(eq[0]):
            note = (f"the combination's effect ({E[0]:.4g}) exceeds the maximal effect of {agent} alone "
                    f"({P[0, 1]:.4g}, fitted): no dose of {agent} alone reaches it")
        elif eq[0] > x.max():
            note = f"extrapolated beyond the highest tested dose of {agent} ({x.max():g})"
        out.append({**{c: design.blocks.iloc[b][c] for c in design.by}, "agent": agent,
                    "combination": ", ".join(f"{d}={v:g}" for d, v in zip(design.doses, target)),
                    "combination_effect": E[0], "combination_effect_ci_low": elo, "combination_effect_ci_high": ehi,
                    "dose_in_combination": target[k], "equivalent_dose": eq[0], "ci_low": lo, "ci_high": hi,
                    "dose_ratio": eq[0] / target[k] if target[k] > 0 else np.nan,
                    "agent_max_effect": P[0, 1], "p_not_reached": pnr, "n_boot": int(n_boot),
                    "converged": bool(fit.converged[0]), "note": note,
                    "response_scale": f"inhibition ({scale})"})
    return pd.DataFrame(out)
