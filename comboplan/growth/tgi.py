r"""Population PK/PD tumour-growth-inhibition (TGI) models fitted to per-animal data with the doses given.

:func:`fit_tgi` fits, to every animal's tumour-size series at once, the model the simulator
(:mod:`comboplan.simulate`) runs forward:

.. math::

    \frac{dw}{dt} = \lambda_0 w - h(t)\,w,\qquad
    h(t) = \sum_j k_j e_j(t) + \gamma\sqrt{k_A e_A(t)\,k_B e_B(t)}

with exponential growth :math:`\lambda_0` (1/day), first-order (linear) kill by each
agent's exposure :math:`e_j` (a drug concentration from its PK model, or a K-PD exposure for
an agent without measured PK, such as a secretome: Jacqmin et al. 2007, a virtual compartment
decaying with the product's half-life), Bliss-independent combination (hazards add) and the
interaction :math:`\gamma` (0 = Bliss independence, > 0 synergy; :math:`\gamma \ge -2`
keeps the hazard non-negative).  In this model

.. math:: \log w(t) = \log w_0 + \lambda_0 t - \sum_j k_j\,\mathrm{AUC}_j(t)
          - \gamma\sqrt{k_A k_B}\,S_{AB}(t),\qquad S_{AB}(t) = \int_0^t \sqrt{e_A e_B}\,d\tau,

so, with the PK fixed, each animal's exposure integrals are computed once (exactly for the
AUCs, by quadrature on a grid refined after every dose for :math:`S_{AB}`) and the fit is fast.

``growth="simeoni"`` (Simeoni et al. 2004's exponential-linear switch) or ``"koch"`` (Koch et al.
2009's smooth form) replace :math:`\lambda_0` by a size-dependent rate with the linear rate
``lambda1``, and ``n_transit > 0`` adds Simeoni's damaged compartments (transit rate ``k1``);
these are solved by the simulator's splitting scheme compiled in
:mod:`comboplan.models.tgi_ode`, from half-step integrals of the same exposure functions.

Random effects are log-normal on ``w0``, ``lambda0`` and the potencies; the residual error is
additive on the log scale by default (proportional on the natural scale: calipers,
bioluminescence), observations below the LLOQ are censored (M3), and animals that left the
study contribute the data they have (dropout assumed ignorable given the model).
The estimator is the Laplace approximation (FOCE-I) of :mod:`comboplan.fitting.nlme`;
``docs/tgi.md`` explains the choice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import DataError

__all__ = ["fit_tgi", "TGIFit", "tgi_design", "load_tgi_fit", "LoadedTGIFit"]

_ERRORS = ("log", "additive", "proportional", "combined")
#: growth laws of fit_tgi (lambda0 is the initial exponential rate in all of them)
_GROWTH = ("exponential", "simeoni", "koch")
_GL_X, _GL_W = np.polynomial.legendre.leggauss(6)


# ---------------------------------------------------------------------------
# design: exposures per animal
# ---------------------------------------------------------------------------

def _dosing_arms(dosing: pd.DataFrame, subjects, columns: Mapping[str, str]):
    """Per-animal Arm objects from a dosing table (subject, time, amount, unit, route, agent)."""
    from ..models.pk import Regimen
    from ..simulate.cohort import Arm

    c = {"subject": "subject", "time": "time", "amount": "amount", "unit": "unit", "route": "route",
         "agent": "agent", "body_weight": "body_weight"}
    c.update(columns or {})
    need = [c[k] for k in ("subject", "time", "amount", "unit", "agent")]
    missing = [k for k in need if k not in dosing.columns]
    if missing:
        raise DataError(f"dosing table lacks column(s) {missing}; it needs subject, time, amount, unit, agent "
                        f"(and route, body_weight for absolute doses). Rename with dosing_columns={{...}}.")
    d = dosing.copy()
    if c["route"] not in d.columns:
        d[c["route"]] = "iv"
    known = set(map(str, subjects))
    unknown = sorted(set(d[c["subject"]].astype(str)) - known)
    if unknown:
        raise DataError(f"dosing table: subject(s) {unknown[:5]} have no tumour measurements; "
                        "check the subject labels (they must match the data's subject column).")
    arms, bw = {}, {}
    for s in subjects:
        rows = d[d[c["subject"]].astype(str) == str(s)]
        regs = []
        for (agent, amount, unit, route), g in rows.groupby([c["agent"], c["amount"], c["unit"], c["route"]]):
            regs.append(Regimen(float(amount), str(unit), tuple(sorted(g[c["time"]].astype(float))), str(route),
                                agent=str(agent)))
        arms[str(s)] = Arm(str(s), regs)
        if c["body_weight"] in rows.columns and len(rows):
            bw[str(s)] = float(rows[c["body_weight"]].iloc[0])
    return arms, bw


def tgi_design(gd, treatments: Mapping[str, object], pk: Mapping[str, object], *, body_weight=None,
               grid_step: float = 0.05, subject_pk: Mapping[str, Mapping[str, object]] | None = None,
               ode_step: float | None = None):
    """Exposure integrals of every animal at its observation times.

    Parameters
    ----------
    gd : GrowthData
        Validated tumour data.
    treatments : mapping subject or arm label -> Arm
        What each arm (or animal) received.
    pk : mapping agent -> PKModel
        PK of every drug (products use their own K-PD decay).
    body_weight : mapping subject -> float (kg), optional
        Needed for absolute dose units (mg, ug).
    grid_step : float
        Largest quadrature step (days) for the interaction integral; refined geometrically after
        every dose.
    subject_pk : mapping subject -> {agent: PKModel}, optional
        Individual (fixed) PK of some animals, e.g. from their own plasma samples, overriding
        ``pk`` for those animals.
    ode_step : float, optional
        For ODE growth laws (Simeoni, Koch, transit compartments): largest step (days) of the
        shared solver grid (refined geometrically after every dose, as the simulator's); adds
        the ``ode`` entry.

    Returns
    -------
    dict
        ``t, y_size, mask, censored, lloq`` (n_subjects, n_obs); ``auc`` agent -> (n_subjects,
        n_obs); ``cross`` (n_subjects, n_obs) for the first agent pair; ``agents``; ``pair``;
        with ``ode_step``, ``ode`` = {``dt`` (n_steps,), ``I1``, ``I2`` (n_subjects, n_steps,
        n_c): integrals of each agent's exposure and of sqrt(e_A e_B) over the first and second
        half of every step, ``out_step`` (n_subjects, n_obs) grid index of every observation}.
    """
    from ..simulate.pd import _event_times, _refined_grid

    n = gd.n_subjects
    counts = np.bincount(gd.subject_idx, minlength=n)
    m = int(counts.max())
    t = np.zeros((n, m))
    ysz = np.ones((n, m))
    mask = np.zeros((n, m), dtype=bool)
    cens = np.zeros((n, m), dtype=bool)
    lloq = np.full((n, m), np.nan)
    pos = np.zeros(n, dtype=int)
    for k in range(gd.n_obs):
        i = gd.subject_idx[k]
        j = pos[i]
        t[i, j], ysz[i, j], mask[i, j], cens[i, j], lloq[i, j] = gd.time[k], gd.size[k], True, gd.censored[k], gd.lloq[k]
        pos[i] += 1
    if np.any(t[mask] < 0):
        raise DataError(f"time must be >= 0 days from the first dose (day 0) for a TGI fit; got "
                        f"{float(t[mask].min()):g}. Shift the time column so that treatment starts at day 0.")
    agents: list[str] = []
    exps = []
    for i, s in enumerate(gd.subjects):
        a = treatments.get(str(s), treatments.get(str(gd.arms[gd.subject_arm[i]])))
        if a is None:
            raise DataError(f"no treatment given for arm {gd.arms[gd.subject_arm[i]]!r} (animal {s!r}); pass "
                            "treatments={arm: Arm(...)} for every arm (an untreated arm is Arm(name)) or a dosing table.")
        ex = a.exposures({**pk, **dict((subject_pk or {}).get(str(s), {}))})
        exps.append(ex)
        for ag in ex:
            if ag not in agents:
                agents.append(ag)
    auc = {ag: np.zeros((n, m)) for ag in agents}
    pair = tuple(agents[:2]) if len(agents) >= 2 else None
    cross = np.zeros((n, m))
    bw = dict(body_weight or {})
    for i, ex in enumerate(exps):
        ti = t[i]
        w = bw.get(str(gd.subjects[i]))
        for ag, e in ex.items():
            if hasattr(e, "regimens"):
                auc[ag][i] = e.cumulative(ti, body_weight=w)[0]
            else:
                auc[ag][i] = e.cumulative(ti)
        if pair and pair[0] in ex and pair[1] in ex:
            tmax = float(ti[mask[i]].max())
            ev = _event_times({k: ex[k] for k in pair})
            ev = ev[ev <= tmax]
            # breakpoints at every dose (exposures jump or kink there), geometric refinement after
            # each (the sqrt(t - t_dose) onset of an absorbed drug), then 6-point Gauss-Legendre on
            # every sub-interval: the integrand is smooth inside each one
            geo = (ev[:, None] + grid_step * np.geomspace(1e-6, 1.0, 25)[None, :]).ravel()
            grid = np.unique(np.concatenate([_refined_grid(np.array([0.0, tmax]), grid_step, ev)[0],
                                             ti[mask[i]], ev, geo]))
            grid = grid[(grid >= 0) & (grid <= tmax)]
            half = 0.5 * np.diff(grid)
            nodes = (0.5 * (grid[1:] + grid[:-1]))[:, None] + half[:, None] * _GL_X[None, :]
            flat = nodes.ravel()
            lv = []
            for ag in pair:
                e = ex[ag]
                lv.append(e.concentration(flat, body_weight=w)[0] if hasattr(e, "regimens") else e.level(flat))
            f = np.sqrt(np.maximum(lv[0], 0.0) * np.maximum(lv[1], 0.0)).reshape(nodes.shape)
            cum = np.concatenate([[0.0], np.cumsum(half * (f @ _GL_W))])
            cross[i] = np.interp(ti, grid, cum)
    out = {"t": t, "size": ysz, "mask": mask, "censored": cens, "lloq": lloq, "auc": auc, "cross": cross,
           "agents": agents, "pair": pair}
    if ode_step is not None:
        out["ode"] = _ode_design(t, mask, exps, agents, pair, bw, gd.subjects, float(ode_step))
    return out


def _ode_design(t, mask, exps, agents, pair, bw, subjects, max_step):
    """Shared step grid of the ODE solver and every animal's half-step exposure integrals."""
    from ..simulate.pd import _event_times, _refined_grid

    n = t.shape[0]
    tout = np.unique(np.concatenate([[0.0], t[mask]]))
    events = np.unique(np.concatenate([[]] + [_event_times(ex) for ex in exps]))
    grid, _ = _refined_grid(tout, max_step, events)
    half = np.empty(2 * grid.size - 1)
    half[0::2] = grid
    half[1::2] = 0.5 * (grid[:-1] + grid[1:])
    S = grid.size - 1
    nc = len(agents) + (1 if pair else 0)
    I1 = np.zeros((n, S, nc))
    I2 = np.zeros((n, S, nc))
    hw = 0.5 * np.diff(half)
    nodes = (0.5 * (half[1:] + half[:-1]))[:, None] + hw[:, None] * _GL_X[None, :]
    cache: dict = {}
    for i, ex in enumerate(exps):
        w = bw.get(str(subjects[i]))
        key = (tuple(sorted((k, id(v)) for k, v in ex.items())), w)
        if key not in cache:
            inc = np.zeros((2 * S, nc))
            for c, ag in enumerate(agents):
                if ag not in ex:
                    continue
                e = ex[ag]
                cum = e.cumulative(half, body_weight=w)[0] if hasattr(e, "regimens") else e.cumulative(half)
                inc[:, c] = np.diff(np.asarray(cum, dtype=float))
            if pair and pair[0] in ex and pair[1] in ex:
                lv = []
                for ag in pair:
                    e = ex[ag]
                    lv.append(e.concentration(nodes.ravel(), body_weight=w)[0] if hasattr(e, "regimens")
                              else e.level(nodes.ravel()))
                f = np.sqrt(np.maximum(lv[0], 0.0) * np.maximum(lv[1], 0.0)).reshape(nodes.shape)
                inc[:, nc - 1] = hw * (f @ _GL_W)
            cache[key] = inc
        inc = cache[key]
        I1[i] = inc[0::2]
        I2[i] = inc[1::2]
    out_step = np.full(t.shape, -1, dtype=np.int64)
    k = np.searchsorted(grid, t[mask])
    k = np.minimum(k, grid.size - 1)
    if np.any(np.abs(grid[k] - t[mask]) > 1e-9):   # pragma: no cover - the grid holds every time
        raise DataError("internal: an observation time is not on the solver grid.")
    out_step[mask] = k
    return {"dt": np.diff(grid), "I1": I1, "I2": I2, "out_step": out_step, "grid": grid}


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------

class _PlanningInterface:
    """What the planner needs from any population TGI fit (``population`` and ``settings``):
    typical values, between-animal SDs, the simulator's model and variability."""

    @property
    def typical(self) -> dict:
        """Typical values, ``{name: value}`` (natural scale)."""
        p = self.population[self.population["kind"] == "typical"]
        return dict(zip(p["parameter"], p["estimate"].astype(float)))

    @property
    def omega(self) -> dict:
        """Between-animal SDs (log scale) of the random parameters."""
        p = self.population[self.population["kind"] == "omega"]
        return {nm.split(".", 1)[1]: float(v) for nm, v in zip(p["parameter"], p["estimate"])}

    def model(self, values: Mapping[str, float] | None = None):
        """The simulator's :class:`~comboplan.simulate.PKPDModel` at the estimates (or ``values``).

        Parameters
        ----------
        values : mapping name -> float, optional
            Overrides, e.g. ``{"interaction.gamma": 0.0}`` for the Bliss-null version.

        Returns
        -------
        comboplan.simulate.PKPDModel
            Exponential growth (``lambda0`` 1/day, ``w0`` in the size unit), linear kill
            (``potency.<agent>`` per exposure unit per day), interaction ``gamma``, the fit's PK.
        """
        th = dict(self.typical)
        th.update(values or {})
        s = self.settings
        return _pkpd_model(th, s["agents"], s["pk"], s["size_unit"], s.get("conc_unit", "ug/mL"),
                           s.get("growth", "exponential"), int(s.get("n_transit", 0)), float(s.get("psi", 20.0)))

    def variability(self):
        """Between-animal variability as the simulator's :class:`~comboplan.simulate.Variability`
        (CV = sqrt(exp(omega^2) - 1) per random parameter)."""
        from ..simulate.cohort import Variability

        return Variability({k: math.sqrt(math.expm1(v * v)) for k, v in self.omega.items()})

    # -- shared by the fits' summary() and to_xarray() ----------------------
    def _summary_head(self, random_note: str = "") -> list[str]:
        """The first lines of ``summary()``: the model, and the data with the error and random effects.

        Parameters
        ----------
        random_note : str, optional
            Said after the random effects (e.g. how they are parametrised).

        Returns
        -------
        list of str
        """
        s = self.settings
        return [
            f"Population TGI fit ({s['estimator']}): {s['growth']} growth, linear kill by "
            f"{', '.join(s['agents']) or 'no agent'}"
            + (f", interaction gamma between {s['pair'][0]} and {s['pair'][1]} (0 = Bliss independence, "
               "> 0 = synergy)" if s.get("pair") and s.get("interaction") else ""),
            f"{s['n_subjects']} animals, {s['n_obs']} observations ({s['n_censored']} censored below LLOQ); "
            f"residual error {s['error']}; random effects on {', '.join(s['random']) or 'none'}{random_note}.",
        ]

    def _population_text(self, cols: Sequence[str]) -> str:
        """The population table's columns ``cols`` as text (4 significant digits).

        Parameters
        ----------
        cols : sequence of str
            Columns of ``population``.

        Returns
        -------
        str
        """
        return self.population[list(cols)].to_string(index=False, float_format=lambda x: f"{x:.4g}")

    def _note_lines(self) -> list[str]:
        """``note: ...`` lines of the population table's notes, each once, in order.

        Returns
        -------
        list of str
        """
        notes = [r for r in self.population["note"] if r]
        return [f"note: {x}" for x in dict.fromkeys(notes)]

    def _tables_dataset(self, cols: Sequence[str]):
        """The population table (dim ``parameter``) and individual parameters (``subject, iparameter``).

        Parameters
        ----------
        cols : sequence of str
            Numeric columns of ``population`` to store, one variable each; ``kind`` and ``unit``
            become coordinates.

        Returns
        -------
        xarray.Dataset
            With the individual parameters' units in ``individual.attrs["units"]``.
        """
        import xarray as xr

        pop = self.population.set_index("parameter")
        ds = xr.Dataset({c: ("parameter", pop[c].to_numpy(dtype=float)) for c in cols},
                        coords={"parameter": pop.index.to_numpy(dtype=str),
                                "kind": ("parameter", pop["kind"].to_numpy(dtype=str)),
                                "unit": ("parameter", pop["unit"].to_numpy(dtype=str))})
        ind = self.individual.set_index("subject")
        pcols = [c for c in ind.columns if c != "arm"]
        ds["individual"] = (("subject", "iparameter"), ind[pcols].to_numpy(dtype=float))
        ds = ds.assign_coords(subject=ind.index.to_numpy(dtype=str), iparameter=np.array(pcols, dtype=str),
                              arm=("subject", ind["arm"].to_numpy(dtype=str)))
        ds["individual"].attrs["units"] = "; ".join(f"{k}: {u}" for k, u in self.settings["units"].items())
        return ds


@dataclass(frozen=True)
class TGIFit(_PlanningInterface):
    """A population TGI fit (immutable).

    Attributes
    ----------
    population : pandas.DataFrame
        One row per estimated quantity: ``parameter, kind`` (typical / omega / sigma),
        ``estimate, stderr, rse_pct, ci_low, ci_high, unit, shrinkage_pct, note``.
    individual : pandas.DataFrame
        Empirical Bayes estimates per animal: ``subject, arm`` and one column per parameter.
    predictions : pandas.DataFrame
        Per observation: ``subject, arm, time, observed, censored, pred`` (typical animal),
        ``ipred`` (the animal's own parameters), ``iwres``, ``cwres`` (modelling scale).
    ofv, aic, bic : float
        -2 log-likelihood (Laplace/FOCE-I) and information criteria.
    converged : bool
    message : str
    settings : dict
        Model, error model, random effects, units, estimator, treatments and PK.
    """

    population: pd.DataFrame
    individual: pd.DataFrame
    predictions: pd.DataFrame
    ofv: float
    aic: float
    bic: float
    converged: bool
    message: str
    settings: dict = field(default_factory=dict)
    _fit: object = field(default=None, repr=False)
    _design: dict = field(default=None, repr=False)

    # -- planner interface (typical, omega, model, variability: _PlanningInterface) --
    def draws(self, n: int = 200, seed=None, *, shrink_interaction: float | None = None,
              between_animal: bool = True):
        """Parameter-uncertainty draws from the fit's asymptotic covariance.

        Parameters
        ----------
        n : int
            Number of draws.
        seed : int or numpy.random.Generator
        shrink_interaction : float, optional
            Prior SD for ``interaction.gamma`` centred at 0 (Bliss independence): the draws of
            gamma are the normal posterior combining the fit (estimate, SE) with this prior.
        between_animal : bool
            Also draw the between-animal SDs ``omega.<name>`` (log scale; jointly with the
            typical values), so that a simulation from the draws carries the uncertainty of the
            variability itself; ``False`` draws the typical values only.

        Returns
        -------
        comboplan.simulate.ParameterDraws
            Log-normal draws for positive parameters and omegas (sampled on the estimation
            scale), normal for ``interaction.gamma``; parameters without a standard error are
            held fixed.
        """
        fit = self._fit
        names, tr = _draw_names(fit.problem.names, fit.problem.transform, fit.problem.random_index, between_animal)
        k = len(names)
        return _typical_draws(names, tr, fit.x[:k], fit.cov[:k, :k], n, seed, shrink_interaction,
                              f"fit_tgi ({self.settings['estimator']}) asymptotic covariance")

    # -- contract ----------------------------------------------------------
    def summary(self) -> str:
        """Population table, objective, convergence and shrinkage, as text."""
        s = self.settings
        lines = self._summary_head() + [
            f"OFV (-2 log L{', restricted' if 'REML' in s['estimator'] else ''}, Laplace) {self.ofv:.3f}; "
            f"AIC {self.aic:.2f}; BIC {self.bic:.2f}; "
            + ("converged" if self.converged else f"NOT converged: {self.message}")
            + ("; some parameters not estimable (see notes)" if "not estimable" in self.message else ""),
        ]
        lines.append(self._population_text(["parameter", "estimate", "stderr", "rse_pct", "ci_low", "ci_high",
                                            "unit", "shrinkage_pct"]))
        lines += self._note_lines()
        if s.get("pair") and s.get("interaction"):
            from .._sign import sign_sentence

            lines.append(sign_sentence("interaction.gamma (the excess kill hazard over Bliss independence, "
                                       "scaled by sqrt(kA cA kB cB))", "interaction.gamma > 0 = synergy, 0 = Bliss"))
        return "\n".join(lines)

    def to_xarray(self):
        """Dataset: ``population`` (parameter), individual parameters (subject, parameter) with units."""
        ds = self._tables_dataset(("estimate", "stderr", "rse_pct", "ci_low", "ci_high", "shrinkage_pct"))
        for v in ("estimate", "stderr", "ci_low", "ci_high"):
            ds[v].attrs["units"] = "see the unit coordinate"
        ds["rse_pct"].attrs["units"] = "%"
        ds["shrinkage_pct"].attrs["units"] = "%"
        fit = self._fit
        ds["cov"] = (("estimated", "estimated2"), np.asarray(fit.cov, dtype=float))
        ds["x"] = ("estimated", np.asarray(fit.x, dtype=float))
        ds = ds.assign_coords(estimated=np.array(fit.labels, dtype=str), estimated2=np.array(fit.labels, dtype=str),
                              transform=("estimated", np.array(list(fit.problem.transform)
                                                               + ["log"] * (len(fit.x) - len(fit.problem.names)),
                                                               dtype=str)))
        ds["cov"].attrs["units"] = "estimation scale (log for positive parameters and SDs)"
        ds["x"].attrs["units"] = "estimation scale (log for positive parameters and SDs)"
        ds.attrs.update({"growth": self.settings.get("growth", "exponential"),
                         "n_transit": int(self.settings.get("n_transit", 0)),
                         "psi": float(self.settings.get("psi", 20.0))})
        ds.attrs.update({"agents": ",".join(self.settings["agents"]),
                         "typical_names": ",".join(fit.problem.names),
                         "conc_unit": self.settings.get("conc_unit", "ug/mL")})
        ds.attrs.update({"ofv": self.ofv, "aic": self.aic, "bic": self.bic, "converged": int(self.converged),
                         "estimator": self.settings["estimator"], "error": self.settings["error"],
                         "size_unit": self.settings["size_unit"], "time_unit": self.settings["time_unit"],
                         "result": "TGIFit"})
        return ds

    def to_netcdf(self, path) -> None:
        """Write :meth:`to_xarray` to netCDF."""
        self.to_xarray().to_netcdf(path, engine="h5netcdf")

    def vpc(self, n_sim: int = 200, seed=None, quantiles=(0.05, 0.5, 0.95), level: float = 0.9) -> pd.DataFrame:
        """Visual predictive check: observed vs simulated percentiles of log size per arm and time.

        Parameters
        ----------
        n_sim : int
            Replicates of the whole study simulated from the fit (same design, new animals).
        seed : int or Generator
        quantiles : sequence of float
            Percentiles of the observations per arm and time.
        level : float
            Coverage of the simulated band around each percentile.

        Returns
        -------
        pandas.DataFrame
            arm, time, quantile, observed, sim_median, sim_low, sim_high (size unit), n_obs.
        """
        rng = np.random.default_rng(seed)
        fit, d = self._fit, self._design
        prob = fit.problem
        n, q = prob.n_subjects, len(prob.random_index)
        eta = rng.standard_normal((n_sim, n, q)) * fit.omega
        f = prob.predict(prob.phi(fit.theta, eta.reshape(n_sim * n, q))).reshape(n_sim, n, -1)
        sd = np.sqrt(_var_nat(f, fit.sigma, prob.error))
        ysim = f + sd * rng.standard_normal(f.shape)
        log_scale = self.settings["error"] == "log"
        if not log_scale:   # natural-scale error models: percentiles of log size for the plot
            ysim = np.log(np.maximum(ysim, 1e-300))
        arm_of = np.asarray(self.settings["subject_arm"])
        rows = []
        a = (1 - level) / 2
        for arm in dict.fromkeys(arm_of):
            sel = arm_of == arm
            times = np.unique(d["t"][sel][prob.mask[sel]])
            for tt in times:
                obs_m = prob.mask[sel] & np.isclose(d["t"][sel], tt)
                yobs = prob.y[sel][obs_m] if log_scale else np.log(np.maximum(prob.y[sel][obs_m], 1e-300))
                cen = prob.censored[sel][obs_m]
                ys = ysim[:, sel][:, obs_m]
                for qq in quantiles:
                    qs = np.quantile(ys, qq, axis=1)
                    rows.append({"arm": arm, "time": float(tt), "quantile": qq,
                                 "observed": float(np.exp(np.quantile(yobs, qq))) if len(yobs) and not cen.all() else np.nan,
                                 "sim_median": float(np.exp(np.median(qs))),
                                 "sim_low": float(np.exp(np.quantile(qs, a))),
                                 "sim_high": float(np.exp(np.quantile(qs, 1 - a))), "n_obs": int(len(yobs))})
        return pd.DataFrame(rows)

    def plot(self, *, kind: str = "individual", ax=None, **kwargs):
        """Diagnostic plots: ``"individual"`` fits, ``"vpc"``, ``"cwres"`` (vs time and prediction).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from ..plot.tgi import plot_tgi

        return plot_tgi(self, kind=kind, ax=ax, **kwargs)


def _pkpd_model(th, agents, pk, size_unit, conc_unit="ug/mL", growth="exponential", n_transit=0, psi=20.0):
    """The simulator's PKPDModel at typical values ``th``."""
    from ..simulate.cohort import PKPDModel
    from ..simulate.pd import Effect, GrowthModel, Interaction

    effects = {ag: Effect(ag, max(float(th[f"potency.{ag}"]), 0.0)) for ag in agents}
    gp = {k: float(th[k]) for k in ("lambda0", "w0", "lambda1", "k1") if k in th}
    return PKPDModel(growth=GrowthModel(growth, gp, n_transit=int(n_transit), psi=float(psi), size_unit=size_unit,
                                        reference="comboplan.fit_tgi"),
                     effects=effects, interaction=Interaction(gamma=float(th.get("interaction.gamma", 0.0))),
                     pk=dict(pk), conc_unit=conc_unit)


def _draw_names(names, transforms, random_index, between_animal):
    """Names and scales of the drawn quantities: typical values, then omegas (estimation order)."""
    names, tr = list(names), list(transforms)
    if between_animal:
        names += [f"omega.{names[j]}" for j in random_index]
        tr += ["log"] * len(random_index)
    return names, tr


def _typical_draws(names, transforms, x, cov, n, seed, shrink_interaction, source):
    """Draws of the typical values from N(x, cov) on the estimation scale (log or identity)."""
    from ..simulate.cohort import ParameterDraws

    if int(n) < 1:
        raise DataError("n (number of draws) must be >= 1.")
    if shrink_interaction is not None and not float(shrink_interaction) > 0:
        raise DataError(f"shrink_interaction is a prior SD and must be > 0; got {shrink_interaction!r}.")
    rng = np.random.default_rng(seed)
    names = list(names)
    cov = np.asarray(cov, dtype=float)
    ok = np.isfinite(np.diag(cov))
    mean = np.asarray(x, dtype=float).copy()
    c = np.nan_to_num(np.where(np.outer(ok, ok), cov, 0.0))
    if shrink_interaction is not None and "interaction.gamma" in names:
        # normal-normal: prior N(0, s^2) on gamma, likelihood N(estimate, SE^2); the other
        # parameters keep their marginal distribution (correlations scaled with gamma's SD)
        j = names.index("interaction.gamma")
        if c[j, j] > 0:
            v0 = float(shrink_interaction) ** 2
            post_var = 1.0 / (1.0 / c[j, j] + 1.0 / v0)
            mean[j] = post_var * mean[j] / c[j, j]
            scale = math.sqrt(post_var / c[j, j])
            c[j, :] *= scale
            c[:, j] *= scale
    z = rng.multivariate_normal(mean, c, size=int(n), method="eigh")
    vals = {}
    for j, (nm, tr) in enumerate(zip(names, transforms)):
        v = np.exp(z[:, j]) if tr == "log" else z[:, j]
        if nm == "interaction.gamma":
            v = np.maximum(v, -2.0)
        vals[nm] = v
    return ParameterDraws(vals, source=source)


def _var_nat(f, sigma, error):
    """Residual variance on the modelling scale (log for ``error='log'``)."""
    if error in ("log", "additive"):
        return np.full_like(f, sigma[0] ** 2)
    if error == "proportional":
        return (sigma[0] * f) ** 2
    return sigma[0] ** 2 + (sigma[1] * f) ** 2


# ---------------------------------------------------------------------------
# the fit
# ---------------------------------------------------------------------------

def validated_design(data, *, subject, arm, time, size, treatments=None, dosing=None, dosing_columns=None, pk=None,
                     body_weight=None, kind="volume", size_unit=None, lloq=None, censored=None, dropout=None,
                     interaction=True, random=("w0", "lambda0"), subject_pk=None, growth="exponential",
                     n_transit=0, max_step=0.05) -> dict:
    """Validate a TGI fit's inputs and build its design (shared by both estimators).

    Parameters are those of :func:`fit_tgi`.

    Returns
    -------
    dict
        ``gd`` (GrowthData), ``design`` (:func:`tgi_design`), ``agents``, ``pair``, ``use_int``,
        ``cens`` (censored flags), ``ysz`` (sizes, the LLOQ where censored; size unit), ``names``
        (typical-value names), ``random``, ``pk``, ``treatments``.
    """
    from .data import validate_growth

    if (treatments is None) == (dosing is None):
        raise DataError("give either treatments={arm: Arm(...)} (a regimen per arm) or dosing=<per-animal table>, "
                        "not both and not neither.")
    if isinstance(data, pd.DataFrame) and subject in data.columns and time in data.columns:
        # a canonical animal order (by label, then time): the fit (optimiser path, random-effect
        # layout, Monte-Carlo draws) then does not depend on the order of the rows
        try:
            data = data.sort_values([subject, time], key=lambda c: c.astype(str) if c.name == subject else c,
                                    kind="stable")
        except (TypeError, ValueError):   # unsortable times: validate_growth names the bad cell
            pass
    gd = validate_growth(data, subject, arm, time, size, kind=kind, size_unit=size_unit, lloq=lloq,
                         censored=censored, dropout=dropout)
    pk = dict(pk or {})
    bw = dict(body_weight or {})
    if dosing is not None:
        treatments, bw_tab = _dosing_arms(dosing, gd.subjects, dosing_columns or {})
        bw = {**bw_tab, **bw}
    subject_pk = {str(k): dict(v) for k, v in dict(subject_pk or {}).items()}
    unknown = sorted(set(subject_pk) - set(map(str, gd.subjects)))
    if unknown:
        raise DataError(f"subject_pk names animal(s) {unknown[:5]} that have no tumour measurements; use the "
                        "labels of the subject column.")
    if growth not in _GROWTH:
        raise DataError(f"growth must be one of {', '.join(_GROWTH)}; got {growth!r}.")
    if not (isinstance(n_transit, int | np.integer) and not isinstance(n_transit, bool) and 0 <= n_transit <= 10):
        raise DataError(f"n_transit (damaged compartments) must be an integer 0-10; got {n_transit!r}.")
    if not (isinstance(max_step, float | int) and 0 < max_step <= 1):
        raise DataError(f"max_step (largest ODE step, days) must lie in (0, 1]; got {max_step!r}.")
    ode = growth != "exponential" or n_transit > 0
    d = tgi_design(gd, treatments, pk, body_weight=bw, subject_pk=subject_pk, ode_step=max_step if ode else None)
    agents, pair = d["agents"], d["pair"]
    use_int = bool(interaction) and pair is not None and bool(np.any(d["cross"][d["mask"]] > 0))
    if use_int and len(agents) > 2:
        raise DataError(f"an interaction can be estimated between two agents; these data have {len(agents)} "
                        f"({', '.join(agents)}). Pass interaction=False (Bliss independence for all) or fit two "
                        "agents at a time.")
    cens = d["censored"]
    if np.any(cens & ~np.isfinite(d["lloq"])):
        raise DataError("some observations are censored (size 0 or flagged) but no LLOQ is known for them; "
                        "pass lloq=<limit in the size unit> so they enter the likelihood as 'below the limit'.")
    if np.any(~cens & d["mask"] & ~(d["size"] > 0)):
        raise DataError("sizes must be > 0 for a log-scale fit; zeros are measurements below the LLOQ: pass lloq=.")
    ysz = np.where(cens, d["lloq"], d["size"])
    names = (["w0", "lambda0"] + (["lambda1"] if growth != "exponential" else []) + (["k1"] if n_transit else [])
             + [f"potency.{a}" for a in agents] + (["interaction.gamma"] if use_int else []))
    random = tuple(random)
    for r in random:
        if r not in names or r == "interaction.gamma":
            raise DataError(f"random effect on {r!r} is not possible; choose among "
                            f"{', '.join(nm for nm in names if nm != 'interaction.gamma')}.")
    if len(set(random)) != len(random):
        raise DataError(f"random lists a parameter twice: {random!r}.")
    return {"gd": gd, "design": d, "agents": agents, "pair": pair, "use_int": use_int, "cens": cens, "ysz": ysz,
            "names": names, "random": random, "pk": pk, "treatments": dict(treatments), "growth": growth,
            "n_transit": int(n_transit), "ode": ode}


def fit_tgi(data, *, subject: str, arm: str, time: str, size: str,
            treatments: Mapping[str, object] | None = None, dosing: pd.DataFrame | None = None,
            dosing_columns: Mapping[str, str] | None = None, pk: Mapping[str, object] | None = None,
            body_weight: Mapping[str, float] | None = None, kind: str = "volume", size_unit: str | None = None,
            lloq=None, censored: str | None = None, dropout: str | None = None,
            interaction: bool = True, random: Sequence[str] = ("w0", "lambda0"), error: str = "log",
            fixed: Mapping[str, float] | None = None, initial: Mapping[str, float] | None = None,
            estimator: str = "nlme", method: str = "reml", ci_level: float = 0.95,
            compute_se: bool = True, subject_pk: Mapping[str, Mapping[str, object]] | None = None,
            growth: str = "exponential", n_transit: int = 0, psi: float = 20.0, max_step: float = 0.1) -> TGIFit:
    """Fit a population PK/PD tumour-growth-inhibition model to per-animal data with the doses given.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy tumour sizes, one row per animal and time (not modified).
    subject, arm, time, size : str
        Column names: animal, treatment arm, day since the first dose (day 0), tumour size
        (volume in ``size_unit`` or a luminescence signal).
    treatments : mapping arm label -> comboplan.simulate.Arm, optional
        The regimen of every arm (drugs as :class:`~comboplan.models.pk.Regimen`, products
        such as a secretome as :class:`~comboplan.simulate.ProductExposure`, a K-PD exposure).
        An untreated (vehicle) arm is ``Arm("vehicle")``.
    dosing : pandas.DataFrame, optional
        Per-animal dosing table instead of ``treatments``: columns subject, time (day), amount,
        unit (``mg/kg``, or ``mg``/``ug`` with a ``body_weight`` column in kg), route, agent.
    dosing_columns : mapping, optional
        Renames for the dosing table's columns (``{"subject": "mouse", ...}``).
    pk : mapping agent -> comboplan.models.pk.PKModel
        PK of every drug (fixed; e.g. :func:`comboplan.models.pk.paclitaxel_mouse`).
    body_weight : mapping subject -> kg, optional
        Body weights for absolute dose units (also read from the dosing table).
    kind : {"volume", "luminescence"}
    size_unit : str, optional
    lloq, censored, dropout
        As :func:`comboplan.validate_growth`: observations below the LLOQ are censored (M3
        likelihood; the LLOQ must be known), ``dropout`` marks animals that left the study.
    interaction : bool
        Estimate the interaction ``gamma`` of the first two agents (only when some animal got both).
    random : sequence of str
        Parameters with log-normal between-animal variability (``"w0"``, ``"lambda0"``,
        ``"potency.<agent>"``).
    error : {"log", "additive", "proportional", "combined"}
        Residual error: ``"log"`` additive on log size (default; proportional on the natural
        scale, suited to calipers and luminescence), or on the natural scale.
    fixed : mapping name -> value, optional
        Typical values held fixed (e.g. a potency known from another study).
    initial : mapping name -> value, optional
        Starting values (defaults from the data).
    estimator : {"nlme", "bayes"}
        ``"nlme"``: Laplace / FOCE-I (:mod:`comboplan.fitting.nlme`); ``"bayes"``: the same model
        by Hamiltonian Monte Carlo (:func:`comboplan.fitting.bayes.tgi.fit_tgi_bayes`, default
        priors and sampler settings; returns a ``TGIBayesFit``).
    method : {"reml", "ml"}
        Restricted likelihood of the model linearised at the modes (default: less downward bias of
        the between-animal SDs in studies of a few dozen animals), or maximum likelihood (use
        ``"ml"`` to compare models that differ in their typical-value parameters by OFV/AIC/LRT).
    ci_level : float
        Level of the Wald intervals (0-1); log-scale (asymmetric) for positive parameters.
    compute_se : bool
        Compute standard errors (numerical Hessian of the objective).
    subject_pk : mapping subject -> {agent: PKModel}, optional
        PK given per animal (fixed, e.g. individual estimates from sparse plasma samples); the
        other animals use ``pk``. ``fit.model()`` carries the population ``pk`` for planning.
    growth : {"exponential", "simeoni", "koch"}
        Unperturbed growth law: exponential (``lambda0``, 1/day; the log size is then linear in
        the exposure integrals and the fit needs no ODE solver), Simeoni et al. 2004's
        exponential-linear switch or Koch et al. 2009's smooth exponential-linear form (both add
        ``lambda1``, the linear growth rate in size unit/day; ``lambda0`` is the initial
        exponential rate in all three).
    n_transit : int
        Damaged (transit) compartments between kill and disappearance, Simeoni 2004's TGI model
        with 3; adds the transit rate ``k1`` (1/day, at most 100: faster clearance cannot be told
        from instant disappearance; an estimate on that bound is reported as such, with the other
        standard errors conditional on it).  0 = killed cells vanish at once.
    psi : float
        Sharpness of Simeoni's switch (dimensionless, fixed; 20 as in Simeoni et al. 2004).
    max_step : float
        Largest step (days) of the compiled ODE solver (the simulator's splitting scheme on a
        grid refined after every dose); unused for exponential growth without transit.

    Returns
    -------
    TGIFit (or TGIBayesFit with ``estimator="bayes"``)
    """
    from ..fitting.nlme import NLMEProblem, fit_nlme

    if not (isinstance(ci_level, float | int) and 0 < ci_level < 1):
        raise DataError(f"ci_level must lie strictly between 0 and 1 (e.g. 0.95); got {ci_level!r}.")
    if error not in _ERRORS:
        raise DataError(f"error must be one of {', '.join(_ERRORS)}; got {error!r}.")
    if estimator not in ("nlme", "bayes"):
        raise DataError(f"estimator must be 'nlme' (Laplace / FOCE-I) or 'bayes' (PyMC + nutpie); got {estimator!r}.")
    if estimator == "bayes":
        from ..fitting.bayes.tgi import fit_tgi_bayes

        if fixed or initial or method != "reml" or subject_pk:
            raise DataError("fixed=, initial=, method= and subject_pk= are options of the NLME estimator; the "
                            "Bayesian fit takes its priors instead (call comboplan.fitting.bayes.tgi.fit_tgi_bayes "
                            "for its options).")
        if growth != "exponential" or n_transit:
            from ..fitting.bayes.tgi_ode import fit_tgi_bayes_ode

            if error != "log":
                raise DataError(f"the Bayesian TGI fit supports error='log' only; got {error!r}.")
            return fit_tgi_bayes_ode(data, subject=subject, arm=arm, time=time, size=size, treatments=treatments,
                                     dosing=dosing, dosing_columns=dosing_columns, pk=pk, body_weight=body_weight,
                                     kind=kind, size_unit=size_unit, lloq=lloq, censored=censored, dropout=dropout,
                                     interaction=interaction, random=random, growth=growth, n_transit=n_transit,
                                     psi=psi, max_step=max_step, ci_level=ci_level)
        return fit_tgi_bayes(data, subject=subject, arm=arm, time=time, size=size, treatments=treatments,
                             dosing=dosing, dosing_columns=dosing_columns, pk=pk, body_weight=body_weight, kind=kind,
                             size_unit=size_unit, lloq=lloq, censored=censored, dropout=dropout,
                             interaction=interaction, random=random, error=error, ci_level=ci_level)
    v = validated_design(data, subject=subject, arm=arm, time=time, size=size, treatments=treatments,
                         dosing=dosing, dosing_columns=dosing_columns, pk=pk, body_weight=body_weight, kind=kind,
                         size_unit=size_unit, lloq=lloq, censored=censored, dropout=dropout, interaction=interaction,
                         random=random, subject_pk=subject_pk, growth=growth, n_transit=n_transit,
                         max_step=max_step)
    if not (isinstance(psi, float | int) and psi > 0):
        raise DataError(f"psi (Simeoni switch sharpness) must be > 0; got {psi!r}.")
    gd, d, agents, pair, use_int = v["gd"], v["design"], v["agents"], v["pair"], v["use_int"]
    cens, ysz, names, random, pk, treatments = v["cens"], v["ysz"], v["names"], v["random"], v["pk"], v["treatments"]
    log_scale = error == "log"
    y = np.where(d["mask"], np.log(np.where(d["mask"], ysz, 1.0)) if log_scale else ysz, 0.0)
    transform = ["identity" if nm == "interaction.gamma" else "log" for nm in names]
    n = gd.n_subjects
    predict = _predictor(d, names, agents, pair, use_int, n, log_scale, growth, int(n_transit), float(psi))
    lower = [-2.0 if nm == "interaction.gamma" else 0.0 for nm in names]
    # k1 above K1_MAX (a residence under 15 min per damaged compartment) cannot be told from instant
    # disappearance with measurements days apart: the bound turns that corner (k1 -> infinity, a flat
    # objective direction) into an estimate on its bound with the other SEs conditional on it
    upper = [50.0 if nm == "interaction.gamma" else (K1_MAX if nm == "k1" else np.inf) for nm in names]
    rows = predict if getattr(predict, "rows", False) else None
    pjac = getattr(predict, "jac", None)
    prob = NLMEProblem(predict, y, d["mask"], names, transform, [nm in random for nm in names],
                       error="additive" if log_scale else error, censored=cens, lower=lower, upper=upper,
                       predict_rows=rows, predict_jac=pjac)
    # starting values: per-animal log-linear slopes of untreated-like growth
    init = _initial(gd, d, names, agents, use_int, log_scale)
    init.update(initial or {})
    fixed = dict(fixed or {})
    theta0 = [fixed.get(nm, init[nm]) for nm in names]
    theta_init = list(theta0)
    ode_candidates = None
    if v["ode"] and not initial:
        # nonlinear growth laws have local optima: candidate starts from naive-pooled fits
        # (typical animal, no random effects); the population objective picks among them below
        ode_candidates = _pooled_candidates(predict, y, d["mask"], cens, names, lower, upper, theta0, fixed,
                                            log_scale)
        # a pooled fit can run a positive parameter into 0 (e.g. k1 -> 0: killed cells never clear;
        # 1e-300 once ended a calibration fit in NaN): such a point is no start for a log-scale search
        ok = [c for c in ode_candidates
              if all(np.isfinite(v) and (nm == "interaction.gamma" or v >= 1e-6 * max(abs(t0), 1e-300))
                     for nm, v, t0 in zip(names, c, theta0))]
        ode_candidates = ok or [list(theta0)]
        theta0 = ode_candidates[0]
    for nm, v in zip(names, theta0):
        if nm != "interaction.gamma" and not v > 0:
            raise DataError(f"starting value of {nm!r} must be > 0; pass initial={{{nm!r}: ...}}.")
    q = sum(nm in random for nm in names)
    med = float(np.median(np.abs(y[d["mask"]])))
    s0 = {"log": [0.3], "proportional": [0.3], "additive": [0.3 * med], "combined": [0.02 * med, 0.3]}[error]
    if error == "combined":
        # start the combined model at the proportional optimum (nested: a -> 0), so that adding
        # the additive part can only improve the fit
        pprob = NLMEProblem(predict, y, d["mask"], names, transform, [nm in random for nm in names],
                            error="proportional", censored=cens, lower=lower, upper=upper, predict_rows=rows,
                            predict_jac=pjac)
        pf = fit_nlme(pprob, theta0, [0.3] * q, [0.3], fixed=fixed, compute_se=False)
        theta0, om0, s0 = list(pf.theta), list(pf.omega), [0.02 * med, float(pf.sigma[0])]
    else:
        om0 = [0.3] * q
    def _ofv(th):
        """Laplace objective at the starting omegas and sigma (ranks candidate starts)."""
        from ..fitting.nlme import laplace_objective

        try:
            with np.errstate(all="ignore"):
                val = laplace_objective(prob, th, om0, s0)[0]
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return np.inf
        return val if np.isfinite(val) else np.inf

    if ode_candidates:
        scored = [(_ofv(c), c) for c in ode_candidates]
        finite = [sc for sc in scored if np.isfinite(sc[0])]
        # the candidate with the best population objective; the data-driven start when none can
        # be evaluated (a pooled fit can end where the population model cannot)
        theta0 = list(min(finite, key=lambda sc: sc[0])[1]) if finite else list(theta_init)
    restart_note = ""
    if ode_candidates and "k1" in names and "k1" not in fixed:
        # the corner k1 -> 0 (killed cells never clear: a growth-inhibition model in disguise) is
        # a local optimum the search can fall into; when it ends there, start again from the best
        # candidate with clearance and keep the better objective
        jk = names.index("k1")
        # optima are compared by the likelihood (ML): restricted likelihoods of different designs X
        # are not comparable (near k1 -> 0 the design degenerates and log|X'V^-1 X| -> -inf would
        # make the corner look better by tens of units); the REML fit below starts at the ML optimum
        first = fit_nlme(prob, theta0, om0, s0, fixed=fixed, compute_se=False, method="ml")
        best = first
        if not first.theta[jk] >= 1e-3:   # the corner (or a search that failed: NaN)
            alt = [(_ofv(c), c) for c in ode_candidates if c[jk] >= 1e-2]
            alt = [sc for sc in alt if np.isfinite(sc[0])]
            if alt:
                second = fit_nlme(prob, min(alt, key=lambda sc: sc[0])[1], om0, s0, fixed=fixed, compute_se=False,
                                  method="ml")
                if np.isfinite(second.ofv) and not second.ofv >= first.ofv:
                    best = second
                    restart_note = (f"; the search first ended at k1 = {first.theta[jk]:.2g} 1/day (ML OFV "
                                    f"{first.ofv:.2f}) and was restarted from a start with clearance (ML OFV "
                                    f"{second.ofv:.2f})")
        theta0, om0, s0 = list(best.theta), list(best.omega), list(best.sigma)
    fit = fit_nlme(prob, theta0, om0, s0, fixed=fixed, compute_se=compute_se, method=method)
    if restart_note:
        fit = replace(fit, message=fit.message + restart_note)
    # a potency driven to ~0 sits on the boundary of its space (no detectable kill): hold it there,
    # with the interaction it carries (sqrt(kA kB) = 0 makes gamma meaningless), and compute the
    # other standard errors conditional on it, instead of a covariance from a flat direction
    boundary = {}
    for a in agents:
        nm = f"potency.{a}"
        if nm in fixed:
            continue
        j = names.index(nm)
        amax = float(np.max(np.where(d["mask"], d["auc"][a], 0.0)))
        if fit.theta[j] * amax < 1e-3:
            boundary[nm] = float(fit.theta[j])
            if use_int and a in pair and "interaction.gamma" not in fixed:
                boundary["interaction.gamma"] = 0.0
    if boundary and compute_se:
        th1 = [boundary.get(nm, v) for nm, v in zip(names, fit.theta)]
        fit = fit_nlme(prob, th1, list(fit.omega), list(fit.sigma), fixed={**fixed, **boundary}, compute_se=True,
                       method=method)
        fit = replace(fit, message=fit.message + "; held at the boundary (no detectable effect): "
                      + ", ".join(f"{k} = {v:.3g}" for k, v in boundary.items()))
    return _build_result(fit, gd, d, names, agents, pair if use_int else None, random, error, ci_level, pk,
                         treatments, use_int, {"growth": growth, "n_transit": int(n_transit), "psi": float(psi),
                                               "max_step": float(max_step)})


def _predictor(d, names, agents, pair, use_int, n, log_scale, growth, n_transit, psi):
    """The structural model ``predict(phi)`` (rows: animals repeated) on the modelling scale."""
    col = {nm: j for j, nm in enumerate(names)}
    pot = [col[f"potency.{a}"] for a in agents]
    if use_int:
        ja, jb = col[f"potency.{pair[0]}"], col[f"potency.{pair[1]}"]
        jg = col["interaction.gamma"]
    if growth == "exponential" and not n_transit:
        # log w is linear in time, each agent's AUC and the cross integral: stack them once
        D = np.stack([d["t"]] + [d["auc"][a] for a in agents] + ([d["cross"]] if use_int else []), axis=-1)

        def predict(phi):
            k = phi.shape[0] // n
            ph = phi.reshape(k, n, phi.shape[1])
            coef = [ph[..., col["lambda0"]]] + [-ph[..., j] for j in pot]
            if use_int:
                coef.append(-ph[..., jg] * np.sqrt(ph[..., ja] * ph[..., jb]))
            lw = np.log(ph[..., col["w0"]])[..., None] + np.einsum("knc,noc->kno", np.stack(coef, axis=-1), D)
            lw = lw.reshape(k * n, -1)
            return lw if log_scale else np.exp(lw)

        return predict
    from ..models.tgi_ode import parameter_sensitivities, solve_log_size, solve_log_size_sens

    ode = d["ode"]
    one = np.ones(1)

    def solver_args(phi, subj):
        """The compiled solver's positional arguments for rows ``phi`` (animals ``subj``)."""
        r = phi.shape[0]
        subj = np.arange(r) % n if subj is None else subj
        coef = [phi[:, j] for j in pot]
        if use_int:
            coef.append(phi[:, jg] * np.sqrt(phi[:, ja] * phi[:, jb]))
        coef = np.stack(coef, axis=1) if coef else np.zeros((r, 0))
        return (ode["dt"], ode["I1"], ode["I2"], ode["out_step"], subj, phi[:, col["w0"]], phi[:, col["lambda0"]],
                phi[:, col["lambda1"]] if "lambda1" in col else np.broadcast_to(one, (r,)),
                phi[:, col["k1"]] if "k1" in col else np.broadcast_to(one, (r,)), coef)

    def predict(phi, subj=None):
        lw = solve_log_size(*solver_args(phi, subj), law=growth, psi=psi, n_transit=n_transit)
        return lw if log_scale else np.exp(lw)

    # solver sensitivity columns (w0, lambda0, lambda1, k1, hazard coefficients) behind each parameter
    nag = len(agents)
    solver_cols = {"w0": [0], "lambda0": [1], "lambda1": [2], "k1": [3], "interaction.gamma": [4 + nag]}
    for c_, a in enumerate(agents):
        solver_cols[f"potency.{a}"] = [4 + c_] + ([4 + nag] if use_int and a in pair else [])

    def jac(phi, subj=None, columns=None):
        """Predictions and their exact derivatives with respect to the columns ``columns`` of
        ``phi`` (default all; the others are 0), from the solver's forward sensitivities; shapes
        (r, n_obs) and (r, n_obs, p)."""
        need = None if columns is None else sorted({k for j in columns for k in solver_cols[names[j]]})
        pots = {a: phi[:, col[f"potency.{a}"]] for a in agents}
        lw, J = solve_log_size_sens(*solver_args(phi, subj), law=growth, psi=psi, n_transit=n_transit,
                                    columns=need)
        sens = parameter_sensitivities(J, pots, pair if use_int else None, phi[:, jg] if use_int else None)
        D = np.zeros(lw.shape + (len(names),))
        for nm, j in col.items():
            D[..., j] = sens[nm]
        if not log_scale:
            lw = np.exp(lw)
            D = D * lw[..., None]
        return lw, D

    predict.rows = True
    predict.jac = jac
    return predict


def _pooled_candidates(predict, y, mask, cens, names, lower, upper, theta0, fixed, log_scale):
    """Naive-pooled least-squares fits (one typical animal) from a few starting points.

    Residuals on the modelling scale; a censored observation contributes only when the
    prediction lies above its limit.  Positive parameters are fitted on the log scale.  Returns
    the distinct local optima, best pooled fit first, plus fits with the transit rate ``k1`` and
    the linear rate ``lambda1`` held at their starting values: the pooled fit ignores
    between-animal variability and can prefer a degenerate corner (``k1 -> 0``: killed cells
    never clear) that the population fit would then not leave."""
    from scipy import optimize

    n = mask.shape[0]
    th0 = np.asarray(theta0, dtype=float)
    meas = mask & ~cens
    scale = float(np.std(y[meas])) or 1.0

    def solve(start, hold):
        free = [j for j, nm in enumerate(names) if nm not in fixed and nm not in hold]
        logp = [names[j] != "interaction.gamma" for j in free]

        def unpack(z):
            th = np.asarray(start, dtype=float).copy()
            for k, j in enumerate(free):
                th[j] = math.exp(z[k]) if logp[k] else z[k]
            return th

        def resid(z):
            f = predict(np.tile(unpack(z), (n, 1)))
            r = np.where(meas, f - y, 0.0)
            r = np.where(cens, np.maximum(f - y, 0.0), r)
            return r[mask] / scale

        lo = np.array([(-np.inf if logp[k] else lower[j]) for k, j in enumerate(free)])
        hi = np.array([(math.log(upper[j]) if logp[k] and np.isfinite(upper[j]) else (np.inf if logp[k] else upper[j]))
                       for k, j in enumerate(free)])
        z0 = np.array([math.log(start[j]) if logp[k] else start[j] for k, j in enumerate(free)])
        z0 = np.clip(z0, lo + 1e-6, hi - 1e-6)
        try:
            with np.errstate(all="ignore"):
                r = optimize.least_squares(resid, z0, bounds=(lo, hi), x_scale=1.0, max_nfev=200 * len(z0))
        except (ValueError, FloatingPointError):
            return None
        return (float(r.cost), unpack(r.x)) if np.isfinite(r.cost) else None

    runs = [solve(th0, ())]
    for nm, facs in (("lambda1", (0.3, 3.0)), ("k1", (0.2, 5.0))):
        if nm in names and nm not in fixed:
            runs += [solve(np.where(np.asarray(names) == nm, th0 * f, th0), ()) for f in facs]
    free_runs = sorted([r for r in runs if r is not None], key=lambda r: r[0])
    anchored = [solve(th0, (nm,)) for nm in ("k1", "lambda1") if nm in names and nm not in fixed]
    out = []
    for r in free_runs[:1] + [a for a in anchored if a is not None] + free_runs[1:]:
        th = r[1]
        if not any(np.allclose(th, o, rtol=1e-3) for o in out):
            out.append(th)
    return [[float(v) for v in th] for th in out] or [[float(v) for v in th0]]


def _pooled_start(predict, y, mask, cens, names, lower, upper, theta0, fixed, log_scale):
    """The best naive-pooled fit (see :func:`_pooled_candidates`)."""
    return _pooled_candidates(predict, y, mask, cens, names, lower, upper, theta0, fixed, log_scale)[0]


def _initial(gd, d, names, agents, use_int, log_scale):
    """Data-driven starting values: median baseline size, growth of the least-treated arm."""
    t, mask = d["t"], d["mask"] & ~d["censored"]
    ly = np.where(mask, np.log(np.where(mask, d["size"], 1.0)), np.nan)
    w0 = float(np.exp(np.nanmedian(np.where(np.isclose(t, np.nanmin(np.where(mask, t, np.inf), axis=1)[:, None]),
                                             ly, np.nan))))
    tot = sum(d["auc"][a] for a in agents) if agents else np.zeros_like(t)
    least = np.nanmax(np.where(mask, tot, np.nan), axis=1)
    sel = least <= np.nanmin(least) + 1e-12
    slopes = []
    early = "lambda1" in names   # exponential-linear growth: lambda0 is the early slope
    for i in np.flatnonzero(sel):
        m = mask[i].copy()
        if early and m.sum() >= 4:
            m[np.flatnonzero(m)[max(3, m.sum() // 2):]] = False
        if m.sum() >= 2:
            slopes.append(np.polyfit(t[i, m], ly[i, m], 1)[0])
    lam = float(np.median(slopes)) if slopes else 0.1
    lam = lam if lam > 1e-3 else 0.1
    out = {"w0": w0, "lambda0": lam}
    tmax = float(np.nanmax(np.where(mask, t, np.nan)))
    for a in agents:
        A = d["auc"][a]
        amax = float(np.nanmax(np.where(mask, A, np.nan))) if np.any(A[mask] > 0) else 1.0
        out[f"potency.{a}"] = max(0.3 * lam * tmax / max(amax, 1e-12), 1e-6)
    if use_int:
        out["interaction.gamma"] = 0.0
    if "lambda1" in names:
        # switch to linear growth near the largest size seen in the least-treated arm
        big = float(np.nanmax(np.where(mask[sel], np.exp(ly[sel]), np.nan)))
        out["lambda1"] = lam * max(big, 2.0 * w0)
    if "k1" in names:
        out["k1"] = 1.0   # 1/day, Simeoni et al. 2004's order of magnitude
    return out


def fit_method(fit) -> str:
    """'REML' or 'ML' as recorded by the engine."""
    return "REML" if getattr(fit, "method", "ml") == "reml" else "ML"


def _units(names, agents, size_unit, time_unit, pk):
    u = {"w0": size_unit, "lambda0": f"1/{time_unit}", "lambda1": f"{size_unit}/{time_unit}", "k1": f"1/{time_unit}",
         "interaction.gamma": "1 (0 = Bliss independence)"}
    for a in agents:
        u[f"potency.{a}"] = (f"1/({time_unit} x ug/mL)" if a in pk else f"1/({time_unit} x product level)")
    return {nm: u[nm] for nm in names}


K1_MAX = 100.0   # 1/day: upper bound of the transit rate k1 (see fit_tgi)


def _build_result(fit, gd, d, names, agents, pair, random, error, ci_level, pk, treatments, use_int, law=None):
    prob = fit.problem
    p, q = len(names), len(prob.random_index)
    z = float(stats.norm.ppf(0.5 + ci_level / 2))
    se_x = fit.se_x
    units = _units(names, agents, gd.size_unit, gd.time_unit, pk)
    rows = []
    eta = fit.eta
    for j, nm in enumerate(names):
        x, s = fit.x[j], se_x[j]
        if prob.transform[j] == "log":
            est, se = math.exp(x), math.exp(x) * s
            lo, hi = math.exp(x - z * s), math.exp(x + z * s)
        else:
            est, se, lo, hi = x, s, x - z * s, x + z * s
        note = ""
        if nm == "k1" and nm in fit.on_bound and est >= 0.99 * K1_MAX:
            note = (f"k1 at its upper bound {K1_MAX:g} 1/{gd.time_unit}: no detectable delay between kill and "
                    "disappearance (the transit compartments are not needed); no standard error, the other SEs "
                    "are conditional on it")
            se, lo, hi = np.nan, np.nan, np.nan
        elif nm in fit.on_bound:
            note = f"{nm} on its bound: no standard error"
        rows.append({"parameter": nm, "kind": "typical", "estimate": est, "stderr": se,
                     "rse_pct": 100 * se / abs(est) if est else np.nan, "ci_low": lo, "ci_high": hi,
                     "unit": units[nm], "shrinkage_pct": np.nan, "note": note})
    for k, j in enumerate(prob.random_index):
        x, s = fit.x[p + k], se_x[p + k]
        om = math.exp(x)
        shrink = 100.0 * (1.0 - float(np.std(eta[:, k], ddof=0)) / om) if om > 0 else np.nan
        label = f"omega.{names[j]}"
        note = ""
        if label in fit.on_bound:
            note = f"{label} on its bound (no detectable between-animal variability)"
        rows.append({"parameter": label, "kind": "omega", "estimate": om, "stderr": om * s,
                     "rse_pct": 100 * s, "ci_low": math.exp(x - z * s), "ci_high": math.exp(x + z * s),
                     "unit": "log-scale SD", "shrinkage_pct": shrink, "note": note})
    sig_labels = fit.labels[p + q:]
    for k, lab in enumerate(sig_labels):
        x, s = fit.x[p + q + k], se_x[p + q + k]
        sg = math.exp(x)
        unit = ("log-scale SD" if error == "log" else ("fraction" if lab == "sigma.prop" else gd.size_unit))
        rows.append({"parameter": lab, "kind": "sigma", "estimate": sg, "stderr": sg * s, "rse_pct": 100 * s,
                     "ci_low": math.exp(x - z * s), "ci_high": math.exp(x + z * s), "unit": unit,
                     "shrinkage_pct": np.nan, "note": ""})
    pop = pd.DataFrame(rows)
    if "not estimable" in fit.message:
        bad = fit.message.split("covariance step: ", 1)[1].split(" not estimable", 1)[0].split(", ")
        for nm in bad:
            pop.loc[pop["parameter"] == nm, "note"] = (f"{nm}: not estimable (the data do not inform it; flat "
                                                       "objective); other SEs are conditional on it")
    if "held at the boundary" in fit.message:
        held = fit.message.split("held at the boundary (no detectable effect): ", 1)[1]
        for item in held.split(", "):
            nm = item.split(" = ")[0]
            pop.loc[pop["parameter"] == nm, "note"] = (f"{nm} held at {item.split(' = ')[1]}: on the boundary (no "
                                                       "detectable effect); not estimable, other SEs conditional on it")
    for a in agents:
        nm = f"potency.{a}"
        k = float(pop.loc[pop["parameter"] == nm, "estimate"].iloc[0])
        tot = float(np.nanmax(np.where(prob.mask, d["auc"][a], np.nan))) if np.any(prob.mask) else 0.0
        if k * tot < 1e-3:   # less than 0.1 % of size killed over the whole study: no detectable effect
            pop.loc[pop["parameter"] == nm, "note"] = (f"{nm} ~ 0: the data show no detectable kill by {a} "
                                                      f"(total log-kill {k * tot:.1e} over the study)")
    # individual parameters
    phi = prob.phi(fit.theta, eta)
    subj_arm = np.asarray(gd.arms)[gd.subject_arm]
    ind = pd.DataFrame({"subject": gd.subjects, "arm": subj_arm})
    for j, nm in enumerate(names):
        ind[nm] = phi[:, j]
    # predictions and residuals
    f_pop = prob.predict(prob.phi(fit.theta, np.zeros_like(eta)))
    f_ind = prob.predict(phi)
    var_i = _var_nat(f_ind, fit.sigma, error)
    from ..fitting.nlme import _jacobian

    J = _jacobian(prob, fit.theta, eta, f_ind)
    # CWRES (FOCE linearisation at the modes): E = f(eta) - J eta, Cov = J Omega J' + R
    Om = np.diag(fit.omega ** 2)
    cwres = np.full(f_ind.shape, np.nan)
    for i in range(prob.n_subjects):
        m = prob.mask[i] & ~prob.censored[i]
        if not m.any():
            continue
        Ji = J[i][m]
        E = f_ind[i][m] - Ji @ eta[i]
        C = Ji @ Om @ Ji.T + np.diag(var_i[i][m])
        r = prob.y[i][m] - E
        L = np.linalg.cholesky(C)
        cwres[i, np.flatnonzero(m)] = np.linalg.solve(L, r)
    mask = prob.mask
    si, ji = np.nonzero(mask)
    back = np.exp if error == "log" else (lambda v: v)
    predictions = pd.DataFrame({
        "subject": gd.subjects[si], "arm": subj_arm[si], "time": d["t"][si, ji],
        "observed": d["size"][si, ji], "censored": prob.censored[si, ji],
        "pred": back(f_pop[si, ji]), "ipred": back(f_ind[si, ji]),
        "iwres": np.where(prob.censored[si, ji], np.nan, (prob.y[si, ji] - f_ind[si, ji]) / np.sqrt(var_i[si, ji])),
        "cwres": cwres[si, ji]})
    n_obs = int(mask.sum())
    k = fit.n_params
    law = dict(law or {"growth": "exponential", "n_transit": 0, "psi": 20.0})
    settings = {"estimator": f"nlme (Laplace / FOCE-I, {fit_method(fit)})", **law, "agents": list(agents),
                "pair": list(pair) if pair else None, "interaction": bool(use_int), "random": list(random),
                "error": error, "size_unit": gd.size_unit, "time_unit": gd.time_unit, "units": units,
                "n_subjects": gd.n_subjects, "n_obs": n_obs, "n_censored": int(prob.censored.sum()),
                "subject_arm": list(subj_arm), "pk": dict(pk), "treatments": dict(treatments),
                "ci_level": ci_level, "conc_unit": "ug/mL", "kind": gd.kind}
    return TGIFit(population=pop, individual=ind, predictions=predictions, ofv=fit.ofv, aic=fit.aic,
                  bic=fit.ofv + k * math.log(n_obs), converged=fit.converged, message=fit.message, settings=settings,
                  _fit=fit, _design=d)


@dataclass(frozen=True)
class LoadedTGIFit(_PlanningInterface):
    """A TGI fit read back from netCDF (:func:`load_tgi_fit`): enough to plan from it.

    Attributes
    ----------
    population : pandas.DataFrame
        The fit's population table.
    settings : dict
        ``agents``, ``size_unit``, ``time_unit``, ``estimator``, ``error``, ``pk`` (given at load).
    """

    population: pd.DataFrame
    settings: dict
    _x: np.ndarray = field(repr=False, default=None)
    _cov: np.ndarray = field(repr=False, default=None)
    _names: tuple = ()
    _transform: tuple = ()
    _labels: tuple = ()

    def draws(self, n: int = 200, seed=None, *, shrink_interaction: float | None = None,
              between_animal: bool = True):
        """Draws from the stored asymptotic covariance (see :meth:`TGIFit.draws`)."""
        rand = [j for j, nm in enumerate(self._names) if f"omega.{nm}" in self._labels] if between_animal else []
        names, tr = _draw_names(self._names, self._transform, rand, between_animal)
        # the stored vector is [typical (p)] [log omega (q, in the order of the random names)] [log sigma]
        k = len(names)
        return _typical_draws(names, tr, self._x[:k], self._cov[:k, :k], n, seed, shrink_interaction,
                              f"fit_tgi netCDF ({self.settings['estimator']}) asymptotic covariance")


def load_tgi_fit(path, pk: Mapping[str, object] | None = None) -> LoadedTGIFit:
    """Read a :class:`TGIFit` written by :meth:`TGIFit.to_netcdf`, for planning.

    Parameters
    ----------
    path : str or Path
        The netCDF file.
    pk : mapping agent -> PKModel, optional
        PK of the fitted drugs (PK is fixed in the fit, not stored): pass the same models.

    Returns
    -------
    LoadedTGIFit
    """
    import xarray as xr

    try:
        ds = xr.load_dataset(path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read TGI fit {str(path)!r}: {exc}") from None
    if ds.attrs.get("result") != "TGIFit" or "cov" not in ds:
        raise DataError(f"{str(path)!r} is not a TGI fit written by TGIFit.to_netcdf (no result='TGIFit' / cov).")
    pop = pd.DataFrame({"parameter": ds["parameter"].values.astype(str), "kind": ds["kind"].values.astype(str),
                        "unit": ds["unit"].values.astype(str)})
    for c in ("estimate", "stderr", "rse_pct", "ci_low", "ci_high", "shrinkage_pct"):
        pop[c] = ds[c].values
    agents = [a for a in str(ds.attrs.get("agents", "")).split(",") if a]
    names = tuple(str(ds.attrs["typical_names"]).split(","))
    pk = dict(pk or {})
    settings = {"agents": agents, "size_unit": str(ds.attrs["size_unit"]), "time_unit": str(ds.attrs["time_unit"]),
                "estimator": str(ds.attrs["estimator"]), "error": str(ds.attrs["error"]), "pk": pk,
                "conc_unit": str(ds.attrs.get("conc_unit", "ug/mL")), "source": str(path),
                "growth": str(ds.attrs.get("growth", "exponential")), "n_transit": int(ds.attrs.get("n_transit", 0)),
                "psi": float(ds.attrs.get("psi", 20.0))}
    return LoadedTGIFit(population=pop, settings=settings, _x=ds["x"].values, _cov=ds["cov"].values, _names=names,
                        _transform=tuple(ds["transform"].values.astype(str)[:len(names)]),
                        _labels=tuple(ds["estimated"].values.astype(str)))
