"""BRAID response-surface fit (Twarog et al. 2016): ``fit_braid`` and ``BraidResult``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.combination.braid import braid, braid_ef
from ..models.spec import ModelSpec, Param
from .surface import SurfaceFitResult, check_design, fit_blocks

__all__ = ["fit_braid", "BraidResult"]

_REFERENCE = ("Twarog NR, Stewart E, Hammill CV, Shelat AA (2016) BRAID: a unifying paradigm for the analysis "
              "of combined drug action. Sci Rep 6:25523")
_SIGN = ("kappa > 0 synergy, kappa = 0 BRAID-additive, -2 < kappa < 0 antagonism; delta > 1 synergy; "
         "synergy_score = mean over the tested combination cells of the fitted surface's excess effect over "
         "the kappa = 0, delta = 1 surface (response units; > 0 synergy)")
_KAPPA_GRID = np.array([-1.5, -0.8, 0.0, 0.8, 2.0, 5.0, 15.0])
_DELTA_GRID = np.array([0.6, 1.0, 1.6])


@dataclass(frozen=True)
class BraidResult(SurfaceFitResult):
    """BRAID fit of two-agent response surfaces (see :class:`SurfaceFitResult` for the tables).

    ``params`` rows: ``E0``, ``E1``, ``E2`` (and ``E3`` with ``ef="free"``), ``h1``,
    ``h2``, ``C1``, ``C2``, ``kappa``, ``delta``; ``kappa > 0`` and ``delta > 1`` mean
    synergy.  ``blocks.synergy_score`` > 0 means synergy.
    """

    model_name = "braid"

    def _par(self, block):
        e = self.estimates(block)
        E3 = e.get("E3") if self.settings.get("ef") == "free" else None
        return e, E3

    def predict(self, d1, d2, block: int = 0):
        """Fitted BRAID surface at doses ``d1``, ``d2`` (broadcast; units of the dose columns).

        Returns
        -------
        numpy.ndarray
            Response in the unit of the response column.
        """
        e, E3 = self._par(block)
        return braid(np.asarray(d1, float), np.asarray(d2, float), e["E0"], e["E1"], e["E2"], E3, e["h1"], e["h2"],
                     e["C1"], e["C2"], e["kappa"], e["delta"])

    def reference(self, d1, d2, block: int = 0):
        """BRAID-additive surface (``kappa = 0``, ``delta = 1``) of the same fit (response unit)."""
        e, E3 = self._par(block)
        return braid(np.asarray(d1, float), np.asarray(d2, float), e["E0"], e["E1"], e["E2"], E3, e["h1"], e["h2"],
                     e["C1"], e["C2"], 0.0, 1.0)


class _BraidModel:
    title = "BRAID"
    reference = _REFERENCE
    sign_convention = _SIGN
    score_definition = ("mean over the tested combination cells of the fitted surface's excess effect over its "
                        "kappa = 0, delta = 1 surface (response units; cells: excess)")
    raw_sign = "kappa > 0 synergy, kappa = 0 BRAID-additive, -2 < kappa < 0 antagonism; delta > 1 synergy"

    def __init__(self, ef: str, fit_delta: bool):
        self.ef = ef
        self.fit_delta = fit_delta
        self.param_names = (("E0", "E1", "E2") + (("E3",) if ef == "free" else ())
                            + ("h1", "h2", "C1", "C2", "kappa", "delta"))
        self._i = {n: k for k, n in enumerate(self.param_names)}

    # scales: BRAID fits the response as given
    @staticmethod
    def to_fit_scale(y, response_kind, top):
        return np.asarray(y, dtype=float)

    @staticmethod
    def to_response(v, response_kind, top):
        return v

    def check(self, d1, d2, blk, caller):
        n = len(self.param_names)
        return check_design(d1, d2, blk, caller, 4, n - (0 if self.fit_delta else 1), n)

    def _split(self, p):
        i = self._i
        E3 = p[i["E3"]] if self.ef == "free" else None
        return (p[i["E0"]], p[i["E1"]], p[i["E2"]], E3, p[i["h1"]], p[i["h2"]], p[i["C1"]], p[i["C2"]],
                p[i["kappa"]], p[i["delta"]])

    def spec(self, d1, d2) -> ModelSpec:
        d1 = np.asarray(d1, dtype=float)
        d2 = np.asarray(d2, dtype=float)

        def func(x, *p):
            idx = np.nan_to_num(np.asarray(x, dtype=float)).astype(np.int64)
            return braid(d1[idx], d2[idx], *self._split(p))

        params = [Param("E0", unit="response", description="response without drug"),
                  Param("E1", unit="response", description="maximal response of agent 1 alone"),
                  Param("E2", unit="response", description="maximal response of agent 2 alone")]
        if self.ef == "free":
            params.append(Param("E3", unit="response", description="overall maximal response Ef"))
        params += [Param("h1", bounds=(1e-2, 50.0), transform="log", description="Hill slope of agent 1"),
                   Param("h2", bounds=(1e-2, 50.0), transform="log", description="Hill slope of agent 2"),
                   Param("C1", unit="dose1", bounds=(0.0, np.inf), transform="log", description="median-effect dose 1"),
                   Param("C2", unit="dose2", bounds=(0.0, np.inf), transform="log", description="median-effect dose 2"),
                   Param("kappa", bounds=(-2.0, np.inf), description="BRAID interaction (> 0 synergy)"),
                   Param("delta", bounds=(1e-2, 1e2), transform="log", description="slope potentiation (> 1 synergy)")]
        return ModelSpec(name=f"braid_{self.ef}", func=func, params=tuple(params), reference=_REFERENCE,
                         direction="E moves from E0 towards E1, E2 (and E3) as doses rise")

    def fixed(self):
        return None if self.fit_delta else {"delta": 1.0}

    def starts(self, d1, d2, y, hf):
        E0 = 0.5 * (hf[0, 0] + hf[1, 0])
        E1, E2 = hf[0, 1], hf[1, 1]
        Efm = float(braid_ef(E0, E1, E2))
        base = {"E0": E0, "E1": E1, "E2": E2, "h1": float(np.clip(hf[0, 3], 0.05, 20)),
                "h2": float(np.clip(hf[1, 3], 0.05, 20)), "C1": hf[0, 2], "C2": hf[1, 2]}
        e3s = [Efm]
        if self.ef == "free":
            dmax = (d1 == d1.max()) & (d2 == d2.max())
            e3s = [Efm + 0.05 * (Efm - E0), float(np.mean(y[dmax])), Efm + 0.3 * (Efm - E0)]
        deltas = _DELTA_GRID if self.fit_delta else np.array([1.0])
        rows = []
        for k in _KAPPA_GRID:
            for dl in deltas:
                for e3 in e3s:
                    r = dict(base, kappa=k, delta=dl, E3=e3)
                    rows.append([r[n] for n in self.param_names])
        return np.array(rows, dtype=float)

    def evaluate(self, p, d1, d2):
        return braid(d1, d2, *self._split(p))

    def evaluate_reference(self, p, d1, d2):
        a = list(self._split(p))
        a[8], a[9] = 0.0, 1.0
        return braid(d1, d2, *a)

    def orient(self, p, response_kind):
        a = self._split(p)
        return float(np.sign(braid_ef(a[0], a[1], a[2], a[3]) - a[0])) or 1.0

    def score(self, p, cd1, cd2, top):
        if len(cd1) == 0:
            return np.nan
        return float(np.mean(self.orient(p, None) * (self.evaluate(p, cd1, cd2) - self.evaluate_reference(p, cd1, cd2))))

    @staticmethod
    def unit(nm, units, design):
        if nm in units:
            return units[nm]
        return f"response ({design.response})" if nm.startswith("E") else "1"

    @staticmethod
    def sign(nm):
        return {"kappa": "> 0 synergy, 0 additive, (-2, 0) antagonism", "delta": "> 1 synergy, < 1 antagonism"}.get(nm,
                                                                                                                   "")

    @staticmethod
    def score_unit(design):
        return f"response ({design.response}); > 0 synergy"


def fit_braid(data, *, doses, response, by=None, replicate=None, ef="max", fit_delta=False, n_boot=200,
              ci_level=0.95, seed=None, response_kind="viability", scale="fraction", bootstrap="auto",
              dose_units=None, errors="warn") -> BraidResult:
    """Fit the BRAID response surface (Twarog et al. 2016) to two-agent dose matrices.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (not modified).
    doses : list of two str
        Dose columns of agents 1 and 2 (>= 0; C1, C2 are reported in their units).
    response : str
        Response column, fitted on its own scale (E0, E1, E2, E3 are in its unit).
    by : str or list of str, optional
        Block columns; each block is fitted separately, and a block that cannot be
        fitted becomes rows with ``status="not_scored"`` and a message.
    replicate : str, optional
        Replicate column (required when cells repeat); replicates are fitted
        individually, never averaged.
    ef : {"max", "free"}
        Overall maximal effect: ``"max"`` (default; the standard BRAID model of the
        paper, braidrm's ``"kappa2"``) uses the single-agent maximum furthest from E0;
        ``"free"`` estimates ``E3`` (braidrm's ``"kappa3"``, the ``synergy`` package's
        BRAID), which only matters when it is further from E0 than both agents.
    fit_delta : bool
        Also estimate ``delta`` (extended BRAID); otherwise ``delta = 1``.
    n_boot : int
        Bootstrap refits for the CIs (batched through the engine); 0 for none.
    ci_level : float
        Confidence level of the percentile intervals.
    seed : int or numpy.random.Generator, optional
        Bootstrap seed.
    response_kind : {"viability", "inhibition"}
        Declared response (validated; sets nothing else, since BRAID fits the response
        as given and the direction of effect from the fit).
    scale : {"fraction", "percent"}
        Declared scale of the response (validated).
    bootstrap : {"auto", "replicates", "residuals"}
        Resample replicates within cells (when cells have replicates) or residuals.
    dose_units : dict, optional
        Units of the dose columns (``{"a_uM": "uM"}``), recorded in ``params.unit``.
    errors : {"warn", "raise"}
        A block that cannot be fitted (< 4 levels of an agent alone including 0, < 2
        combination observations) becomes NaN rows with a warning (``"warn"``) or raises
        :class:`DataError` naming the block (``"raise"``).

    Returns
    -------
    BraidResult
        ``params``, ``blocks`` (``synergy_score`` > 0 synergy), ``cells``, ``fit``;
        ``summary()``, ``to_xarray()``, ``plot()``, ``predict()``, ``reference()``.

    Notes
    -----
    ``C1``, ``C2``, slopes and ``delta`` are fitted on the log scale (results do not
    depend on dose units); ``kappa`` on its natural scale within (-2, inf).  Starting
    values: Hill self-starts of the two single-agent edges and a grid of ``kappa``
    (x ``delta``, x ``E3``) screened by RSS; the best 3 are refined by the comboplan
    Levenberg-Marquardt engine and the lowest RSS is kept.

    References
    ----------
    Twarog NR, Stewart E, Hammill CV, Shelat AA. BRAID: a unifying paradigm for the
    analysis of combined drug action. Sci Rep 2016;6:25523.
    """
    from .._params import StrOptions, check_param

    check_param(ef, [StrOptions({"max", "free"})], name="ef", func="fit_braid",
                fix="'max' (standard BRAID: the stronger agent's maximum) or 'free' (estimate E3)")
    model = _BraidModel(ef, bool(fit_delta))
    P, B, C, F, S = fit_blocks(model, data, doses, response, by, replicate, response_kind, scale, int(n_boot),
                               ci_level, seed, bootstrap, dose_units, errors, "fit_braid")
    S.update({"ef": ef, "fit_delta": bool(fit_delta)})
    return BraidResult(params=P, blocks=B, cells=C, fit=F, settings=S)
