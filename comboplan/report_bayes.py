"""Report section of ``comboplan demo``: the Bayesian hierarchical growth model (application
layer, beside :mod:`comboplan.report`; the estimator itself lives in :mod:`comboplan.fitting.bayes`).

``demo_section(ctx)`` fits the Bayesian model to the same seeded, paper-shaped
xenograft study as the growth section (``comboplan.report.paper_xenograft``: the bundled
synthetic study, 4/7/7/7 mice, luminescence, necrosis dropout after day 21) and returns markdown.
"""
from __future__ import annotations

import warnings

__all__ = ["demo_section"]


def demo_section(ctx) -> str:
    """Fit the hierarchical Bayesian growth model to the synthetic Eiro-shaped study.

    Parameters
    ----------
    ctx : comboplan.reportkit.ReportContext
        Output folder, seed (of the sampler) and collectors of figures, tables
        and summary lines.

    Returns
    -------
    str
        Markdown text of the section.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from .exceptions import DiagnosticsWarning
    from .fitting.bayes.growth import fit_growth, prior_predictive_growth
    from .report import paper_xenograft

    seed = ctx.seed
    rtv, _, gd = paper_xenograft(ctx)
    design = {"control": "control", "A": "CM", "B": "PTX", "AB": "CM+PTX", "names": ("CM", "PTX")}
    pp = prior_predictive_growth(gd, interaction=design, seed=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DiagnosticsWarning)
        res = fit_growth(gd, interaction=design, seed=seed, draws=1000, tune=1000, chains=4)
    diag_msgs = [str(w.message) for w in caught if issubclass(w.category, DiagnosticsWarning)]
    true_r = {k: np.log(v) / 14.0 for k, v in rtv.items()}
    true_int = true_r["CM+PTX"] - true_r["CM"] - true_r["PTX"] + true_r["control"]
    rates = res.rates().set_index("arm")
    syn = res.synergy().iloc[0]
    m = res.meta
    out = [
        "Same synthetic study as above, now with the hierarchical Bayesian model (`cp.bayes.fit_growth`): "
        "log signal = log baseline + rate x day per animal, animal rates and baselines partially pooled "
        "(non-centred), arm rates from the 2x2 factorial (control, CM, PTX, CM+PTX) with an explicit interaction "
        "r_CM+PTX - r_CM - r_PTX + r_control (Bliss on growth rates; **negative = synergy**). The necrotic "
        "animals contribute their measurements up to dropout (missing at random); no row is deleted.\n",
        f"Prior predictive check: {100 * pp.coverage:.0f} % of the observations lie inside the central 95 % "
        "prior-predictive interval (weakly informative priors; table of priors in `docs/bayes.md`).\n",
        f"Sampler: {m['sampler']} ({m['chains']} chains x {m['draws']} draws, seed {m['seed']}), "
        f"{m['compile_seconds'] + m['sampling_seconds']:.1f} s; diagnostics: {res.diagnostics}.\n",
        "| arm | growth rate (1/day), posterior mean | 90 % credible interval | simulation truth |",
        "|---|---|---|---|",
    ]
    for arm, r in rates.iterrows():
        out.append(f"| {arm} | {r['rate_mean']:.4f} | {r['ci_low']:.4f} to {r['ci_high']:.4f} | {true_r[arm]:.4f} |")
    covered = syn["ci_low"] <= true_int <= syn["ci_high"]
    out.append(
        f"\nInteraction: {syn['interaction_mean']:+.4f} /day (90 % CI {syn['ci_low']:+.4f} to {syn['ci_high']:+.4f}); "
        f"P(synergy) = P(interaction < 0) = {syn['p_synergy']:.2f}. The simulation's true value is {true_int:+.4f} "
        f"/day (the interval {'covers' if covered else 'misses'} it). The growth section's Bliss score is the "
        "same quantity with the opposite sign (expected - observed).\n")
    if diag_msgs:
        out.append("Diagnostics warnings: " + "; ".join(diag_msgs) + "\n")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    res.plot("fit", ax=axes[0])
    res.plot("interaction", ax=axes[1])
    fig.tight_layout()
    out.append(ctx.figure(fig, "bayes_growth.png",
                          "left: posterior fit of log relative signal per arm over days; right: posterior of the "
                          "growth-rate interaction (1/day, negative = synergy)"))
    out.append(ctx.table(res, "bayes_growth_posterior.nc", "full posterior (ArviZ InferenceData, netCDF)"))
    out.append(ctx.table(res.rates(), "bayes_growth_rates.csv",
                         "posterior mean and 90 % credible interval of each arm's growth rate (1/day)"))
    ctx.say(f"Bayesian hierarchical model: growth-rate interaction {syn['interaction_mean']:+.4f} /day "
            f"(90 % CrI {syn['ci_low']:+.4f} to {syn['ci_high']:+.4f}; negative = synergy), "
            f"P(synergy) = {syn['p_synergy']:.2f}; {res.diagnostics}")
    out.append("The full posterior is saved as `bayes_growth_posterior.nc` (`cp.bayes.load_result(...)`); "
               "`result.draws([...])` gives the draws the planning simulator needs.\n")
    return "\n".join(out)
