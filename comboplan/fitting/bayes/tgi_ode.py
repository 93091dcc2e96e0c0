r"""Bayesian fit of the population TGI model with an ODE growth law (Simeoni, Koch, transit).

The model is :func:`comboplan.fit_tgi`'s with ``growth="simeoni" | "koch"`` and/or
``n_transit > 0`` (same design, equations, parameter names and units): log-normal priors on the
typical values, ``gamma ~ Normal(0, interaction_prior_sd)`` truncated to ``gamma >= -2``
(0 = Bliss independence, > 0 synergy), ``omega ~ HalfNormal(0.5)``, ``sigma ~ HalfNormal(0.5)``,
log-normal random effects (centred by default), additive error on log size with M3 censoring.

The log sizes come from the compiled solver of :mod:`comboplan.models.tgi_ode` (the
simulator's splitting scheme) wrapped as a PyTensor ``Op`` whose gradient is the solver's adjoint
(exact for the discrete scheme), so NUTS (nutpie by default) samples it.  The prior centres are data-driven (empirical Bayes): the
typical values of :func:`comboplan.fit_tgi`'s NLME (REML) fit of the same model, with wide
log-scale SDs (``prior_centre="pooled"``: the naive-pooled least-squares fit instead, one typical
animal and no random effects, which is biased and can fall into the ``k1 -> 0`` corner); a
parameter on its bound (0) is centred at ``fit_tgi``'s default start.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ...exceptions import DataError
from .tgi import TGIBayesFit

__all__ = ["fit_tgi_bayes_ode", "TGIBayesODEFit"]

#: prior SD of the log typical values (log scale) around the pooled-fit centre
_PRIOR_SD = {"w0": 1.0, "lambda0": 1.0, "lambda1": 1.5, "k1": 1.0}
_PRIOR_SD_POTENCY = 2.0
#: a pooled estimate below this fraction of fit_tgi's default start counts as on its bound (0)
_ON_BOUND = 1e-3
_HS_OMEGA = 0.5
_HS_SIGMA = 0.5


def _nlme_centres(prior_centre, tnames, growth, n_transit, fit_kw):
    """Typical values of fit_tgi's NLME fit as prior centres: (dict or None, reason when None)."""
    import warnings

    if isinstance(prior_centre, str):
        from ...growth.tgi import fit_tgi

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                nl = fit_tgi(**fit_kw, compute_se=False)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
                return None, f"the NLME fit raised {type(exc).__name__}"
    else:
        nl = prior_centre
        s = getattr(nl, "settings", {}) or {}
        if s.get("growth", growth) != growth or int(s.get("n_transit", n_transit)) != n_transit:
            raise DataError(f"prior_centre: the TGIFit passed has growth={s.get('growth')!r}, "
                            f"n_transit={s.get('n_transit')!r}; this fit has growth={growth!r}, "
                            f"n_transit={n_transit}. Pass a fit of the same model, or prior_centre='nlme'.")
    est = nl.population.set_index("parameter")["estimate"]
    missing = [nm for nm in tnames if nm not in est.index]
    if missing:
        raise DataError(f"prior_centre: the TGIFit passed has no estimate of {missing}; pass a fit of the same "
                        "model, or prior_centre='nlme'.")
    if not bool(nl.converged):
        return None, "the NLME fit did not converge"
    vals = {nm: float(est[nm]) for nm in tnames}
    if not all(np.isfinite(v) and v >= 0 for v in vals.values()):
        return None, "the NLME fit gave a non-finite estimate"
    return vals, ""


def _sampling_trouble(idata, n_kept: int):
    """(trouble?, reason, preference key) of a run for the ``parametrization="auto"`` switch:
    divergences in more than 1 % of the kept draws, or a population R-hat above 1.1 (a chain
    apart from the others); runs are preferred by fewer divergences, then the smaller R-hat.
    Divergences and R-hat come from :func:`~comboplan.fitting.bayes.sampling.check_diagnostics`."""
    from .sampling import check_diagnostics

    d = check_diagnostics(idata, ["log_theta", "gamma", "omega", "sigma"], warn=False)
    nd = d.n_divergent
    rh = float(d.table["r_hat"].max()) if d.table["r_hat"].notna().any() else float("nan")
    parts = []
    if nd > 0.01 * n_kept:
        parts.append(f"{nd} divergences in {n_kept} draws")
    if np.isfinite(rh) and rh > 1.1:
        parts.append(f"population R-hat {rh:.2f}")
    why = "; ".join(parts) if parts else f"{nd} divergences, population R-hat {rh:.3f}"
    return bool(parts), why, (nd, rh if np.isfinite(rh) else 0.0)


class _Structural:
    """Design of the ODE model and the map phi (natural scale) -> log size with derivatives."""

    def __init__(self, design, names, agents, pair, use_int, n, growth, n_transit, psi):
        self.ode = design["ode"]
        self.names = [nm for nm in names if nm != "interaction.gamma"]
        self.col = {nm: j for j, nm in enumerate(self.names)}
        self.agents, self.pair, self.use_int = list(agents), pair, use_int
        self.n, self.growth, self.n_transit, self.psi = n, growth, n_transit, psi
        self.subj = np.arange(n)

    def _coef(self, phi, gamma):
        c = [phi[:, self.col[f"potency.{a}"]] for a in self.agents]
        if self.use_int:
            ka, kb = phi[:, self.col[f"potency.{self.pair[0]}"]], phi[:, self.col[f"potency.{self.pair[1]}"]]
            c.append(gamma * np.sqrt(ka * kb))
        return np.stack(c, axis=1) if c else np.zeros((phi.shape[0], 0))

    def _args(self, phi, gamma):
        one = np.ones(phi.shape[0])
        col = self.col
        return (self.ode["dt"], self.ode["I1"], self.ode["I2"], self.ode["out_step"], self.subj[:phi.shape[0]],
                phi[:, col["w0"]], phi[:, col["lambda0"]], phi[:, col["lambda1"]] if "lambda1" in col else one,
                phi[:, col["k1"]] if "k1" in col else one, self._coef(phi, gamma))

    def value(self, phi, gamma):
        """log size (n, m); the solver's recorded states are kept for a gradient at the same
        parameters (a log density and its gradient then cost one forward solve, not two)."""
        from ...models.tgi_ode import solve_log_size_taped

        lw, tape = solve_log_size_taped(*self._args(phi, gamma), law=self.growth, psi=self.psi,
                                        n_transit=self.n_transit)
        # copies: the caller may reuse the returned buffer in place
        self._last = (np.array(phi, dtype=float), float(gamma), lw.copy(), tape)
        return lw

    def value_and_grad(self, phi, gamma, weights):
        """log size (n, m) and the gradient of ``sum(weights * log size)`` with respect to phi
        (n, P; natural scale) and gamma (reverse mode through the solver; only the backward pass
        when :meth:`value` was last called at the same parameters: bit for bit the same)."""
        from ...models.tgi_ode import log_size_vjp_from_tape, solve_log_size_vjp

        last = getattr(self, "_last", None)
        kw = dict(law=self.growth, psi=self.psi, n_transit=self.n_transit)
        if last is not None and last[1] == float(gamma) and np.array_equal(last[0], phi):
            lw = last[2]
            g = log_size_vjp_from_tape(*self._args(phi, gamma), weights, last[3], lw, **kw)
        else:
            lw, g = solve_log_size_vjp(*self._args(phi, gamma), weights, **kw)
        col = self.col
        gp = np.zeros((phi.shape[0], len(self.names)))
        for k, nm in enumerate(("w0", "lambda0", "lambda1", "k1")):
            if nm in col:
                gp[:, col[nm]] = g[:, k]
        for c, a in enumerate(self.agents):
            gp[:, col[f"potency.{a}"]] += g[:, 4 + c]
        gg = 0.0
        if self.use_int:
            gx = g[:, 4 + len(self.agents)]
            ia, ib = col[f"potency.{self.pair[0]}"], col[f"potency.{self.pair[1]}"]
            ka, kb = phi[:, ia], phi[:, ib]
            r = np.sqrt(ka * kb)
            with np.errstate(divide="ignore", invalid="ignore"):
                gp[:, ia] += gx * np.where(r > 0, gamma * kb / (2 * r), 0.0)
                gp[:, ib] += gx * np.where(r > 0, gamma * ka / (2 * r), 0.0)
            gg = float(np.sum(gx * r))
        return lw, gp, gg


def _ops(st: _Structural):
    """PyTensor Ops: log size from (phi, gamma), with a gradient from the forward sensitivities."""
    import pytensor.tensor as pt
    from pytensor.graph.op import Op
    from pytensor.graph.basic import Apply

    class VJP(Op):
        __props__ = ()

        def make_node(self, phi, gamma, g):
            phi, gamma, g = pt.as_tensor_variable(phi), pt.as_tensor_variable(gamma), pt.as_tensor_variable(g)
            return Apply(self, [phi, gamma, g], [pt.matrix(dtype="float64"), pt.scalar(dtype="float64")])

        def perform(self, node, inputs, outputs):
            phi, gamma, g = inputs
            _, gp, gg = st.value_and_grad(np.asarray(phi, float), float(gamma), np.asarray(g, float))
            outputs[0][0] = gp
            outputs[1][0] = np.asarray(gg, dtype="float64")

    vjp = VJP()

    class LogSize(Op):
        __props__ = ()

        def make_node(self, phi, gamma):
            phi, gamma = pt.as_tensor_variable(phi), pt.as_tensor_variable(gamma)
            return Apply(self, [phi, gamma], [pt.matrix(dtype="float64")])

        def perform(self, node, inputs, outputs):
            phi, gamma = inputs
            outputs[0][0] = st.value(np.asarray(phi, float), float(gamma))

        def grad(self, inputs, output_grads):
            phi, gamma = inputs
            gp, gg = vjp(phi, gamma, output_grads[0])
            return [gp, gg]

    return LogSize()


@dataclass(frozen=True)
class TGIBayesODEFit(TGIBayesFit):
    """Posterior of the population TGI model with an ODE growth law (see :class:`TGIBayesFit`,
    whose methods it uses); the typical values also include ``lambda1`` (size unit/day) and/or
    ``k1`` (1/day), and ``settings`` the growth law, ``n_transit`` and ``psi``."""


def fit_tgi_bayes_ode(data, *, subject: str, arm: str, time: str, size: str,
                      treatments: Mapping[str, object] | None = None, dosing: pd.DataFrame | None = None,
                      dosing_columns: Mapping[str, str] | None = None, pk: Mapping[str, object] | None = None,
                      body_weight: Mapping[str, float] | None = None, kind: str = "volume",
                      size_unit: str | None = None, lloq=None, censored: str | None = None,
                      dropout: str | None = None, interaction: bool = True,
                      random: Sequence[str] = ("w0", "lambda0"), growth: str = "simeoni", n_transit: int = 0,
                      psi: float = 20.0, max_step: float = 0.1, interaction_prior_sd: float = 1.0,
                      draws: int = 500, tune: int = 500, chains: int = 2, seed: int = 0, ci_level: float = 0.9,
                      target_accept: float = 0.9, check: bool = True, progress: bool = False,
                      sampler: str = "nutpie", parametrization: str = "auto",
                      prior_centre="nlme") -> TGIBayesODEFit:
    """Bayesian (NUTS) fit of :func:`comboplan.fit_tgi`'s model with an ODE growth law.

    Parameters
    ----------
    data, subject, arm, time, size, treatments, dosing, dosing_columns, pk, body_weight, kind, size_unit, lloq, censored, dropout, interaction, random
        As :func:`comboplan.fit_tgi` (time in days from the first dose; sizes in ``size_unit``).
    growth : {"simeoni", "koch", "exponential"}
        Growth law (``"exponential"`` only with ``n_transit > 0``; otherwise use
        :func:`~comboplan.fitting.bayes.tgi.fit_tgi_bayes`, which needs no ODE).
    n_transit : int
        Damaged (transit) compartments (Simeoni 2004: 3), adding ``k1`` (1/day).
    psi : float
        Simeoni switch sharpness (dimensionless, fixed).
    max_step : float
        Largest solver step (days).
    interaction_prior_sd : float
        Prior SD of gamma (dimensionless), centred at 0 = Bliss independence, truncated at -2.
    draws, tune, chains : int
        Post-warm-up draws, warm-up iterations and chains (sampled one after the other).
    seed : int
        Seed of the sampler: same seed, same draws.
    ci_level : float
        Level of the equal-tailed credible intervals.
    target_accept : float
        NUTS target acceptance rate.
    check : bool
        Warn (DiagnosticsWarning) when R-hat, ESS or divergences fail their checks.
    progress : bool
        Show the sampler's progress bar.
    sampler : {"nutpie", "pymc"}
        ``"nutpie"`` (default; PyMC's NUTS when nutpie is not installed): nutpie's NUTS with its
        low-rank-modified mass matrix, which adapts to the correlations between typical values
        (e.g. ``k1`` and the paclitaxel potency); ``"pymc"``: PyMC's NUTS with a diagonal mass
        matrix.  On calibration study 3000 (28 animals, Simeoni with 3 transit compartments,
        150 + 150 iterations) nutpie needed 12.7 gradient evaluations per draw against PyMC's 63
        (same parametrisation), see docs/tgi.md.
    parametrization : {"auto", "centred", "non-centred"}
        How the random effects are sampled: ``"centred"`` samples the individual log
        parameters ``log phi_i ~ Normal(log theta, omega)``; ``"non-centred"`` samples
        ``z_i ~ Normal(0, 1)`` with ``log phi_i = log theta + omega z_i``.  With 9 or so
        observations per animal the data pin each animal's parameters, which favours the centred
        form (fewer gradient evaluations per draw: 63 against 97 on the same study with PyMC).
        ``"auto"`` (default) samples the centred form and, when it diverges in more than 1 % of
        the kept draws or a chain separates from the others (R-hat of a population parameter
        > 1.1), samples again in the non-centred form with the same seed and keeps the run with
        fewer divergences (then the smaller R-hat).  The centred form funnels when the data put a
        between-animal SD near 0 (recovery study 3133: one chain stuck at omega.lambda0 ~ 0, 490
        divergences of 1000, R-hat 2.27).  ``settings["parametrization"]`` names the form kept
        and ``settings["parametrization_note"]`` why.
    prior_centre : {"nlme", "pooled"}, TGIFit or mapping
        Where the log-normal priors of the typical values are centred (their SDs are fixed: 1 on
        the log scale, 1.5 for ``lambda1``, 2 for the potencies).  ``"nlme"`` (default): the
        estimates of :func:`comboplan.fit_tgi` (NLME, REML, same data and model; adds its run
        time, about 10-20 s for 28 animals, to the fit; falls back to ``"pooled"``, saying so in
        the prior table, when that fit does not converge).  A converged ``TGIFit`` of the same
        data and model may be passed instead, to reuse it.  ``"pooled"``: the naive-pooled
        least-squares fit (one typical animal, no random effects; fast but biased: on 154
        simulated Simeoni studies it put ``k1`` 3 log units below the truth in several, and the
        posterior followed, see docs/tgi.md).  Either way a centre on its bound (0) is replaced by
        ``fit_tgi``'s default start, and ``settings["priors"]`` says which centre each prior has.
        A mapping ``{typical value: centre}`` (every typical value of the model, each > 0, in its
        unit: e.g. ``{"w0": 80, "lambda0": 0.25, "lambda1": 60, "k1": 1, "potency.paclitaxel":
        0.5, "potency.secretome": 0.1}``) fixes the centres: prior knowledge from earlier
        studies, or priors that do not depend on the data, as simulation-based calibration needs;
        no pooled or NLME fit is run.

    Returns
    -------
    TGIBayesODEFit
        ``population`` (posterior medians, SDs, credible intervals, R-hat and ESS, units),
        ``individual``, ``predictions``, ``idata``, ``diagnostics``; ``model()``, ``draws()`` and
        ``variability()`` for the planner.
    """
    import pymc as pm
    import pytensor.tensor as pt

    from ...growth.tgi import _initial, _pooled_start, _predictor, _units, validated_design
    from .sampling import check_diagnostics, sample_model

    if growth == "exponential" and not n_transit:
        raise DataError("exponential growth without transit compartments needs no ODE: use "
                        "comboplan.fitting.bayes.tgi.fit_tgi_bayes (or fit_tgi(estimator='bayes')).")
    if not (isinstance(ci_level, float | int) and 0 < ci_level < 1):
        raise DataError(f"ci_level must lie strictly between 0 and 1; got {ci_level!r}.")
    for nm, v in (("draws", draws), ("tune", tune), ("chains", chains)):
        if not (isinstance(v, int | np.integer) and v >= 1):
            raise DataError(f"{nm} must be a positive integer; got {v!r}.")
    if not (isinstance(interaction_prior_sd, float | int) and interaction_prior_sd > 0):
        raise DataError(f"interaction_prior_sd must be > 0; got {interaction_prior_sd!r}.")
    if sampler not in ("nutpie", "pymc"):
        raise DataError(f"sampler must be 'nutpie' or 'pymc'; got {sampler!r}.")
    if parametrization not in ("auto", "centred", "non-centred"):
        raise DataError(f"parametrization must be 'auto', 'centred' or 'non-centred'; got {parametrization!r}.")
    given = isinstance(prior_centre, Mapping)
    if not (isinstance(prior_centre, str) and prior_centre in ("nlme", "pooled")) and not given and not (
            hasattr(prior_centre, "population") and hasattr(prior_centre, "converged")):
        raise DataError(f"prior_centre must be 'nlme', 'pooled', a TGIFit of the same data or a mapping of "
                        f"typical values; got {prior_centre!r}.")
    v = validated_design(data, subject=subject, arm=arm, time=time, size=size, treatments=treatments,
                         dosing=dosing, dosing_columns=dosing_columns, pk=pk, body_weight=body_weight, kind=kind,
                         size_unit=size_unit, lloq=lloq, censored=censored, dropout=dropout, interaction=interaction,
                         random=random, growth=growth, n_transit=n_transit, max_step=max_step)
    gd, d, agents, pair, use_int = v["gd"], v["design"], v["agents"], v["pair"], v["use_int"]
    cens, ysz, names, random, pkd = v["cens"], v["ysz"], v["names"], v["random"], v["pk"]
    n = gd.n_subjects
    mask = d["mask"]
    y = np.where(mask, np.log(np.where(mask, ysz, 1.0)), 0.0)
    # data-driven prior centres: the naive-pooled fit (as fit_tgi's starting point)
    init = _initial(gd, d, names, agents, use_int, True)
    pred = _predictor(d, names, agents, pair, use_int, n, True, growth, int(n_transit), float(psi))
    lower = [-2.0 if nm == "interaction.gamma" else 0.0 for nm in names]
    upper = [50.0 if nm == "interaction.gamma" else np.inf for nm in names]
    st = _Structural(d, names, agents, pair, use_int, n, growth, int(n_transit), float(psi))
    tnames = st.names
    if given:
        # fixed centres (prior knowledge, or a simulation-based calibration with priors that do not
        # depend on the data): no pooled or NLME fit
        bad = sorted(set(tnames) ^ set(prior_centre))
        if bad:
            raise DataError(f"prior_centre: the mapping must give exactly the typical values {tnames}; "
                            f"missing or unknown: {bad}.")
        vals = {nm: prior_centre[nm] for nm in tnames}
        wrong = [nm for nm, v in vals.items() if not (isinstance(v, float | int) and np.isfinite(v) and v > 0)]
        if wrong:
            raise DataError(f"prior_centre: every centre must be a finite number > 0 (the priors are log-normal); "
                            f"not so for {wrong}: {[vals[nm] for nm in wrong]}.")
        centre = {nm: float(v) for nm, v in vals.items()}
        source = "given by the caller (prior_centre)"
    else:
        centre = dict(zip(names, _pooled_start(pred, y, mask, cens, names, lower, upper,
                                               [init[nm] for nm in names], {}, True)))
        source = "naive-pooled least-squares fit"
    if not given and (not isinstance(prior_centre, str) or prior_centre == "nlme"):
        nl_centre, why_not = _nlme_centres(prior_centre, tnames, growth, int(n_transit), dict(
            data=data, subject=subject, arm=arm, time=time, size=size, treatments=treatments, dosing=dosing,
            dosing_columns=dosing_columns, pk=pk, body_weight=body_weight, kind=kind, size_unit=size_unit,
            lloq=lloq, censored=censored, dropout=dropout, interaction=interaction, random=random, growth=growth,
            n_transit=n_transit, psi=psi, max_step=max_step))
        if nl_centre is not None:
            centre.update(nl_centre)
            source = "NLME (REML) estimate of fit_tgi"
        else:
            source = f"naive-pooled least-squares fit ({why_not})"
    # a pooled estimate on its lower bound (0) is no centre for a log-normal prior: log(0) would
    # pin the parameter at 0 whatever the data say (calibration seeds 3011, 3031, 3043: the
    # pooled fit put k1 at 0 and the posterior followed, k1 = 0.0000 +- 0.0001 for a truth of 1);
    # such parameters are centred at fit_tgi's default start instead
    on_bound = set() if given else {nm for nm in tnames if not centre[nm] > _ON_BOUND * init[nm]}
    for nm in on_bound:
        centre[nm] = float(init[nm])
    mu = np.array([math.log(max(centre[nm], 1e-8)) for nm in tnames])
    sd = np.array([_PRIOR_SD.get(nm, _PRIOR_SD_POTENCY) for nm in tnames])
    R = np.zeros((len(random), len(tnames)))
    for k, r in enumerate(random):
        R[k, tnames.index(r)] = 1.0
    si, ji = np.nonzero(mask & ~cens)
    ci_, cj = np.nonzero(mask & cens)
    op = _ops(st)
    coords = {"tparam": tnames, "subject": [str(s) for s in gd.subjects], "random": list(random)}
    def run(form):
        with pm.Model(coords=coords):
            lt = pm.Normal("log_theta", mu=mu, sigma=sd, dims="tparam")
            gamma = (pm.TruncatedNormal("gamma", mu=0.0, sigma=float(interaction_prior_sd), lower=-2.0)
                     if use_int else pt.constant(0.0))
            sigma = pm.HalfNormal("sigma", sigma=_HS_SIGMA)
            lphi = pt.broadcast_to(lt[None, :], (n, len(tnames)))
            if random:
                omega = pm.HalfNormal("omega", sigma=_HS_OMEGA, dims="random")
                if form == "centred":
                    ridx = [tnames.index(r) for r in random]
                    lr = pm.Normal("log_phi", mu=lt[ridx][None, :], sigma=omega[None, :], dims=("subject", "random"))
                    lphi = lphi + pt.dot(lr - lt[ridx][None, :], pt.as_tensor(R))
                else:
                    z = pm.Normal("z", 0.0, 1.0, dims=("subject", "random"))
                    lphi = lphi + pt.dot(z * omega[None, :], pt.as_tensor(R))
            lw = op(pt.exp(lphi), gamma)
            if si.size:
                pm.Normal("log_size", mu=lw[si, ji], sigma=sigma, observed=y[si, ji])
            if ci_.size:
                pm.Potential("censored", pm.logcdf(pm.Normal.dist(lw[ci_, cj], sigma), y[ci_, cj]).sum())
            model = pm.modelcontext(None)
        return sample_model(model, draws=int(draws), tune=int(tune), chains=int(chains), seed=int(seed),
                             sampler=sampler, target_accept=float(target_accept), progress=progress, cores=1,
                             low_rank_mass_matrix=True)

    form = "centred" if parametrization == "auto" else parametrization
    idata = run(form)
    form_note = ""
    if parametrization == "auto" and random:
        bad, why, key = _sampling_trouble(idata, int(draws) * int(chains))
        if bad:
            idata2 = run("non-centred")
            _, why2, key2 = _sampling_trouble(idata2, int(draws) * int(chains))
            if key2 < key:
                idata, form = idata2, "non-centred"
                form_note = f"centred form: {why}; sampled again non-centred and kept ({why2 or 'no trouble'})"
            else:
                form_note = f"centred form: {why}; the non-centred form did no better ({why2}); centred kept"

    sampling_s = float(idata.attrs.get("sampling_seconds", float("nan")))
    compile_s = float(idata.attrs.get("compile_seconds", float("nan")))
    used = str(idata.attrs.get("sampler", sampler))
    post = idata.posterior
    C, D = post.sizes["chain"], post.sizes["draw"]
    ltv = post["log_theta"].values                      # (C, D, P)
    gam = post["gamma"].values if use_int else np.zeros((C, D))
    omv = post["omega"].values if random else np.zeros((C, D, 0))
    if random and form == "centred":
        ridx = [tnames.index(r) for r in random]
        zv = (post["log_phi"].values - post["log_theta"].values[:, :, None, ridx]) / post["omega"].values[:, :, None, :]
    else:
        zv = post["z"].values if random else np.zeros((C, D, n, 0))
    sig = post["sigma"].values
    lpar = ltv[:, :, None, :] + np.einsum("cdsr,rp->cdsp", zv * omv[:, :, None, :], R)
    # posterior predictions (thinned to at most 400 draws for speed)
    flat_l = lpar.reshape(-1, n, len(tnames))
    flat_g = gam.reshape(-1)
    take = np.linspace(0, flat_l.shape[0] - 1, min(400, flat_l.shape[0])).astype(int)
    f_i = np.stack([st.value(np.exp(flat_l[k]), flat_g[k]) for k in take])
    f_p = np.stack([st.value(np.exp(np.broadcast_to(ltv.reshape(-1, len(tnames))[k], (n, len(tnames)))),
                             flat_g[k]) for k in take])
    # InferenceData posterior in the names TGIBayesFit uses
    cd = ("chain", "draw")
    extra = {nm: (cd, np.exp(ltv[..., j])) for j, nm in enumerate(tnames) if not nm.startswith("potency.")}
    if agents:
        extra["potency"] = (cd + ("agent",), np.exp(np.stack([ltv[..., tnames.index(f"potency.{a}")]
                                                              for a in agents], axis=-1)))
    idata.posterior = post.assign(**extra).assign_coords(agent=list(agents)) if agents else post.assign(**extra)
    keyvars = [k for k in ("w0", "lambda0", "lambda1", "k1", "potency", "gamma", "omega", "sigma")
               if k in idata.posterior]
    diag = check_diagnostics(idata, keyvars, warn=check)
    dtab = diag.table.set_index("variable")
    units = _units(names, agents, gd.size_unit, gd.time_unit, pkd)
    alpha = (1 - ci_level) / 2

    def row(name, kind_, x, label, unit, shrink=np.nan, note=""):
        x = np.asarray(x, float).ravel()
        lo, med, hi = np.quantile(x, [alpha, 0.5, 1 - alpha])
        s_ = float(np.std(x, ddof=1))
        r = {"parameter": name, "kind": kind_, "estimate": float(med), "stderr": s_,
             "rse_pct": 100 * s_ / abs(med) if med else np.nan, "ci_low": float(lo), "ci_high": float(hi),
             "unit": unit, "shrinkage_pct": shrink, "note": note}
        for c in ("r_hat", "ess_bulk", "ess_tail"):
            r[c] = float(dtab.loc[label, c]) if label in dtab.index else np.nan
        return r

    rows = []
    for j, nm in enumerate(tnames):
        label = f"potency[{nm.split('.', 1)[1]}]" if nm.startswith("potency.") else nm
        rows.append(row(nm, "typical", np.exp(ltv[..., j]), label, units[nm]))
    if use_int:
        rows.append(row("interaction.gamma", "typical", gam, "gamma", units["interaction.gamma"],
                        note=f"P(gamma > 0 | data) = {float(np.mean(gam > 0)):.3f} (synergy over Bliss independence)"))
    for k, r in enumerate(random):
        om = omv[..., k]
        eta_mean = (zv[..., k] * om[..., None]).reshape(-1, n).mean(axis=0)
        shrink = 100.0 * (1.0 - float(np.std(eta_mean, ddof=0)) / float(np.median(om)))
        rows.append(row(f"omega.{r}", "omega", om, f"omega[{r}]", "log-scale SD", shrink=shrink))
    rows.append(row("sigma.add", "sigma", sig, "sigma", "log-scale SD"))
    pop = pd.DataFrame(rows)
    subj_arm = np.asarray(gd.arms)[gd.subject_arm]
    ind = pd.DataFrame({"subject": gd.subjects, "arm": subj_arm})
    for j, nm in enumerate(tnames):
        ind[nm] = np.exp(np.median(flat_l[..., j], axis=0))
    if use_int:
        ind["interaction.gamma"] = float(np.median(gam))
    fi, fp = np.median(f_i, axis=0), np.median(f_p, axis=0)
    a_i, a_j = np.nonzero(mask)
    s_med = float(np.median(sig))
    predictions = pd.DataFrame({
        "subject": gd.subjects[a_i], "arm": subj_arm[a_i], "time": d["t"][a_i, a_j],
        "observed": d["size"][a_i, a_j], "censored": cens[a_i, a_j], "pred": np.exp(fp[a_i, a_j]),
        "ipred": np.exp(fi[a_i, a_j]),
        "iwres": np.where(cens[a_i, a_j], np.nan, (y[a_i, a_j] - fi[a_i, a_j]) / s_med)})
    prior_rows = [{"parameter": nm, "prior": f"log {nm} ~ Normal({m:.4g}, {s_:g})",
                   "centre": f"{math.exp(m):.4g} {units[nm]}",
                   "why": (f"fit_tgi's default start (the {source.split(' (')[0]} is on its bound, 0)"
                           if nm in on_bound else source)}
                  for nm, m, s_ in zip(tnames, mu, sd)]
    if use_int:
        prior_rows.append({"parameter": "interaction.gamma", "prior": f"interaction.gamma ~ Normal(0, "
                           f"{interaction_prior_sd:g}) truncated to >= -2", "centre": "0 (Bliss independence)",
                           "why": "shrinks towards Bliss unless the data inform it"})
    prior_rows += [{"parameter": f"omega.{r}", "prior": f"omega.{r} ~ HalfNormal({_HS_OMEGA:g})", "centre": "",
                    "why": "between-animal SD of log " + r} for r in random]
    prior_rows.append({"parameter": "sigma.add", "prior": f"sigma.add ~ HalfNormal({_HS_SIGMA:g})", "centre": "",
                       "why": "residual SD of log size"})
    settings = {"estimator": "bayes (NUTS, pymc)", "growth": growth, "n_transit": int(n_transit), "psi": float(psi),
                "max_step": float(max_step), "agents": list(agents), "pair": list(pair) if use_int else None,
                "interaction": bool(use_int), "random": list(random), "error": "log", "size_unit": gd.size_unit,
                "time_unit": gd.time_unit, "units": units, "n_subjects": int(n), "n_obs": int(mask.sum()),
                "n_censored": int(cens.sum()), "subject_arm": list(subj_arm), "pk": dict(pkd),
                "treatments": dict(v["treatments"]), "ci_level": ci_level, "conc_unit": "ug/mL", "kind": gd.kind,
                "priors": prior_rows, "interaction_prior_sd": float(interaction_prior_sd), "sampler": used,
                "backend": "pytensor graph + compiled ODE solver (reverse-mode gradient)",
                "requested_sampler": sampler, "parametrization": form, "requested_parametrization": parametrization,
                "parametrization_note": form_note,
                "fallback": "" if used == sampler else f"{sampler} not installed; sampled with {used}", "seed": int(seed), "draws": int(draws), "tune": int(tune), "chains": int(chains),
                "target_accept": float(target_accept), "compile_seconds": compile_s, "sampling_seconds": sampling_s}
    return TGIBayesODEFit(population=pop, individual=ind, predictions=predictions, idata=idata, diagnostics=diag,
                          settings=settings, _arrays=None)
