"""Shared set-up of the TGI and growth benchmarks: the four-arm xenograft study and timings.

The study (vehicle, paclitaxel 10 mg/kg IP weekly to day 21, a primed secretome 3x/week, both;
7 mice per arm, caliper days 0-28) is simulated by ``comboplan.simulate`` in
``calibration_tgi*.py`` and ``bench_tgi*.py``.  Run the scripts as ``python benchmarks/<script>.py``:
their folder is then on ``sys.path`` and ``from _studies import ...`` finds this module.
"""
from __future__ import annotations

import time

import numpy as np

DAYS = (0, 3, 7, 10, 14, 17, 21, 24, 28)


def tgi_arms():
    """The study's arms and PK.

    Returns
    -------
    arms : dict
        ``{"vehicle", "PTX", "CM", "PTX+CM"}`` -> :class:`comboplan.simulate.Arm`.
    pk : dict
        ``{"paclitaxel": PKModel}`` (Simeoni 2004 mouse PK, IP bioavailability 1).
    """
    import comboplan.simulate as cs
    from comboplan.models.pk import Regimen, paclitaxel_mouse
    from comboplan.simulate.exposure import secretome

    pk = {"paclitaxel": paclitaxel_mouse(bioavailability={"ip": 1.0})}
    ptx = Regimen.from_schedule(10, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
    sec = secretome("primed", "3x/week from day 0 to 21", half_life=1.0, potency=1.0)
    arms = {"vehicle": cs.Arm("vehicle"), "PTX": cs.Arm("PTX", [ptx]), "CM": cs.Arm("CM", [], [sec]),
            "PTX+CM": cs.Arm("PTX+CM", [ptx], [sec])}
    return arms, pk


def simulate_tgi_study(growth, truth, *, variability, cv, seed, lloq=None):
    """One simulated study of the four arms, 7 mice each, with Bliss kill plus interaction.

    Parameters
    ----------
    growth : comboplan.simulate.pd.GrowthModel
        The growth law at its true values.
    truth : mapping
        ``potency.paclitaxel``, ``potency.secretome`` (1/(day x exposure unit)) and
        ``interaction.gamma``.
    variability : mapping
        Between-animal CVs, e.g. ``{"w0": 0.3, "lambda0": 0.2}``.
    cv : float
        Caliper readout CV.
    seed : int
        The simulation's seed.
    lloq : float, optional
        Observations below it (mm^3) become 0 in ``volume`` (censored).

    Returns
    -------
    df : pandas.DataFrame
        Tidy table with ``mouse`` (``scenario-animal``), ``scenario``, ``day``, ``observed``
        and, with ``lloq``, ``volume``.
    arms, pk : dict
        As :func:`tgi_arms`.
    """
    import comboplan.simulate as cs
    from comboplan.simulate.pd import Effect, Interaction

    arms, pk = tgi_arms()
    model = cs.PKPDModel(growth=growth,
                         effects={"paclitaxel": Effect("paclitaxel", truth["potency.paclitaxel"]),
                                  "secretome": Effect("secretome", truth["potency.secretome"])},
                         interaction=Interaction(gamma=truth["interaction.gamma"]), pk=pk)
    res = cs.simulate_cohort(model, list(arms.values()), DAYS, n_animals=7,
                             variability=cs.Variability(dict(variability)),
                             readout=cs.Readout("volume", cv=cv), seed=seed, common_animals=False)
    df = res.to_frame()
    df["mouse"] = df["scenario"] + "-" + df["animal"].astype(str)
    if lloq is not None:
        df["volume"] = np.where(df["observed"] < lloq, 0.0, df["observed"])
    return df, arms, pk


def omega_cvs(truth):
    """Between-animal CVs of w0 and lambda0 from their log-scale SDs (``cv = sqrt(exp(omega^2) - 1)``).

    Parameters
    ----------
    truth : mapping
        With ``omega.w0`` and ``omega.lambda0``.

    Returns
    -------
    dict
        ``{"w0": cv, "lambda0": cv}``.
    """
    cv_w0, cv_l = (float(np.sqrt(np.expm1(truth[k] ** 2))) for k in ("omega.w0", "omega.lambda0"))
    return {"w0": cv_w0, "lambda0": cv_l}


def timings(f, n=5):
    """Wall times of ``n`` calls of ``f``.

    Parameters
    ----------
    f : callable
        Called with no argument.
    n : int
        Number of calls.

    Returns
    -------
    list of float
        Seconds per call.
    """
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return ts


def coverage_row(results, name, true):
    """Coverage of one parameter's intervals over simulated studies, with its Monte-Carlo SE and bias.

    Parameters
    ----------
    results : sequence of mapping
        Per study, ``{parameter: (estimate, stderr, ci_low, ci_high)}``.
    name : str
        The parameter.
    true : float
        Its true value.

    Returns
    -------
    tuple
        ``(est, se, lo, hi, good, cover, mcse, bias, flag)``: the per-study arrays, the mask of
        studies with a finite interval, the coverage among them and its Monte-Carlo SE, the mean
        (estimate - true) / SE, and ``"  <-- MISS"`` when the coverage lies outside 85-95 % or
        |bias| > 0.3 (else ``""``).
    """
    est, se, lo, hi = (np.array([r[name][j] for r in results]) for j in range(4))
    good = np.isfinite(lo) & np.isfinite(hi)
    cover = np.mean((lo[good] <= true) & (true <= hi[good]))
    mcse = np.sqrt(cover * (1 - cover) / good.sum())
    bias = np.mean(((est - true) / se)[good])
    flag = "" if (0.85 <= cover <= 0.95 and abs(bias) <= 0.3) else "  <-- MISS"
    return est, se, lo, hi, good, cover, mcse, bias, flag
