"""Zimmer effective-dose fit (Zimmer et al. 2016): ``fit_zimmer`` and ``ZimmerResult``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.combination.zimmer import zimmer
from ..models.spec import ModelSpec, Param
from .surface import SurfaceFitResult, check_design, fit_blocks

__all__ = ["fit_zimmer", "ZimmerResult"]

_REFERENCE = ("Zimmer A, Katzir I, Dekel E, Mayo AE, Alon U (2016) Prediction of multidimensional drug dose "
              "responses based on measurements of drug pairs. PNAS 113:10442-10447")
_SIGN = ("a12 < 0: drug 2 raises drug 1's effective dose (synergy); a12 > 0: lowers it (antagonism); a21 likewise "
         "for drug 1 acting on drug 2; a12 = a21 = 0: Bliss independence. synergy_score = mean over the tested "
         "combination cells of the Bliss surface (a = 0) minus the fitted surface, in the response's scale "
         "(> 0 synergy)")
_A_GRID = np.array([-0.6, 0.0, 1.0, 4.0])


@dataclass(frozen=True)
class ZimmerResult(SurfaceFitResult):
    """Zimmer effective-dose fit (see :class:`SurfaceFitResult` for the tables).

    ``params`` rows: ``h1``, ``h2``, ``C1``, ``C2``, ``a12``, ``a21``.  **Negative
    a12/a21 mean synergy** (Zimmer et al. 2016); ``blocks.synergy_score`` > 0 means
    synergy.  The surface is fitted to the response as a fraction of the untreated
    response (viability fraction: 1 without drug); ``predict`` returns the response in
    the caller's unit and kind.
    """

    model_name = "zimmer"

    def _to_resp(self, v):
        top = 100.0 if self.settings["scale"] == "percent" else 1.0
        return top * v if self.settings["response_kind"] == "viability" else top * (1.0 - v)

    def predict(self, d1, d2, block: int = 0):
        """Fitted surface at doses ``d1``, ``d2`` (broadcast; units of the dose columns).

        Returns
        -------
        numpy.ndarray
            Response in the unit and kind of the response column.
        """
        e = self.estimates(block)
        return self._to_resp(zimmer(np.asarray(d1, float), np.asarray(d2, float), e["h1"], e["h2"], e["C1"], e["C2"],
                                    e["a12"], e["a21"]))

    def reference(self, d1, d2, block: int = 0):
        """Bliss-independent surface (``a12 = a21 = 0``) of the same single agents (response unit)."""
        e = self.estimates(block)
        return self._to_resp(zimmer(np.asarray(d1, float), np.asarray(d2, float), e["h1"], e["h2"], e["C1"], e["C2"],
                                    0.0, 0.0))


class _ZimmerModel:
    title = "Zimmer effective-dose model"
    reference = _REFERENCE
    sign_convention = _SIGN
    score_definition = ("mean over the tested combination cells of the Bliss surface (a12 = a21 = 0) minus the "
                        "fitted surface, oriented so that a stronger effect is positive (cells: excess)")
    raw_sign = "a12 < 0 synergy (drug 2 raises drug 1's effective dose), a12 > 0 antagonism; a21 likewise"
    param_names = ("h1", "h2", "C1", "C2", "a12", "a21")

    @staticmethod
    def to_fit_scale(y, response_kind, top):
        y = np.asarray(y, dtype=float) / top
        return y if response_kind == "viability" else 1.0 - y

    @staticmethod
    def to_response(v, response_kind, top):
        return top * v if response_kind == "viability" else top * (1.0 - v)

    def check(self, d1, d2, blk, caller):
        return check_design(d1, d2, blk, caller, 3, 6)

    def spec(self, d1, d2) -> ModelSpec:
        d1 = np.asarray(d1, dtype=float)
        d2 = np.asarray(d2, dtype=float)

        def func(x, h1, h2, C1, C2, a12, a21):
            idx = np.nan_to_num(np.asarray(x, dtype=float)).astype(np.int64)
            return zimmer(d1[idx], d2[idx], h1, h2, C1, C2, a12, a21)

        params = (Param("h1", bounds=(1e-2, 50.0), transform="log", description="Hill slope of drug 1"),
                  Param("h2", bounds=(1e-2, 50.0), transform="log", description="Hill slope of drug 2"),
                  Param("C1", unit="dose1", bounds=(0.0, np.inf), transform="log", description="half-effect dose 1"),
                  Param("C2", unit="dose2", bounds=(0.0, np.inf), transform="log", description="half-effect dose 2"),
                  Param("a12", bounds=(-0.999, 1e6), description="effect of drug 2 on drug 1's effective dose"),
                  Param("a21", bounds=(-0.999, 1e6), description="effect of drug 1 on drug 2's effective dose"))
        return ModelSpec(name="zimmer", func=func, params=params, reference=_REFERENCE,
                         direction="fraction of untreated response falls from 1 towards 0 as doses rise")

    @staticmethod
    def fixed():
        return None

    @staticmethod
    def starts(d1, d2, y, hf):
        h1, h2 = (float(np.clip(v, 0.05, 20)) for v in hf[:, 3])
        C1, C2 = hf[0, 2], hf[1, 2]
        A12, A21 = (v.ravel() for v in np.meshgrid(_A_GRID, _A_GRID, indexing="ij"))
        n = len(A12)
        return np.column_stack([np.full(n, h1), np.full(n, h2), np.full(n, C1), np.full(n, C2), A12, A21])

    @staticmethod
    def evaluate(p, d1, d2):
        return zimmer(d1, d2, *p)

    @staticmethod
    def evaluate_reference(p, d1, d2):
        return zimmer(d1, d2, p[0], p[1], p[2], p[3], 0.0, 0.0)

    @staticmethod
    def orient(p, response_kind):
        return -1.0 if response_kind == "viability" else 1.0

    def score(self, p, cd1, cd2, top):
        if len(cd1) == 0:
            return np.nan
        return float(top * np.mean(self.evaluate_reference(p, cd1, cd2) - self.evaluate(p, cd1, cd2)))

    @staticmethod
    def unit(nm, units, design):
        return units.get(nm, "1")

    @staticmethod
    def sign(nm):
        return {"a12": "< 0 synergy (drug 2 potentiates drug 1), > 0 antagonism",
                "a21": "< 0 synergy (drug 1 potentiates drug 2), > 0 antagonism"}.get(nm, "")

    @staticmethod
    def score_unit(design):
        return f"{design.scale} of the untreated response (effect units); > 0 synergy"


def fit_zimmer(data, *, doses, response, by=None, replicate=None, n_boot=200, ci_level=0.95, seed=None,
               response_kind="viability", scale="fraction", bootstrap="auto", dose_units=None,
               errors="warn") -> ZimmerResult:
    """Fit Zimmer's effective-dose model (Zimmer et al. 2016) to two-agent dose matrices.

    The model describes the response as a fraction of the untreated response (1 without
    drug, 0 at full effect): each drug alone is ``1 / (1 + (d / C)^h)``, and in the pair
    each acts at an effective dose shifted by the other, ``x1' = x1 / (1 + a12 x2' /
    (x2' + C2))`` (and symmetrically), combined by Bliss independence.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (not modified).
    doses : list of two str
        Dose columns of drugs 1 and 2 (>= 0; C1, C2 are reported in their units).
    response : str
        Response column, normalised to the untreated control: viability (1 or 100 %
        without drug) or inhibition (0 without drug), as declared by ``response_kind``
        and ``scale``; it is fitted as the viability fraction.
    by : str or list of str, optional
        Block columns; each block is fitted separately (a block that cannot be fitted
        becomes rows with ``status="not_scored"``).
    replicate : str, optional
        Replicate column (required when cells repeat).
    n_boot : int
        Bootstrap refits for the CIs (batched through the engine); 0 for none.
    ci_level : float
        Confidence level of the percentile intervals.
    seed : int or numpy.random.Generator, optional
        Bootstrap seed.
    response_kind : {"viability", "inhibition"}
        Kind of the response column.
    scale : {"fraction", "percent"}
        Scale of the response column.
    bootstrap : {"auto", "replicates", "residuals"}
        Resample replicates within cells or residuals.
    dose_units : dict, optional
        Units of the dose columns, recorded in ``params.unit``.
    errors : {"warn", "raise"}
        Unfittable blocks (< 3 levels of a drug alone including 0, < 2 combination
        observations): NaN rows with a warning, or :class:`DataError`.

    Returns
    -------
    ZimmerResult
        ``params`` (``a12``, ``a21``: **< 0 synergy**), ``blocks`` (``synergy_score``
        > 0 synergy, in the response's scale), ``cells``, ``fit``.

    Notes
    -----
    Slopes and ``C`` are fitted on the log scale (dose-unit invariant); ``a12``,
    ``a21`` on their natural scale within (-0.999, 1e6) (``a > -1`` keeps the effective
    doses finite).  Starts: the Hill self-start of both single-agent edges and a 4 x 4
    grid of ``a12``, ``a21`` screened by RSS; the best 3 are refined by the comboplan
    Levenberg-Marquardt engine.

    References
    ----------
    Zimmer A, Katzir I, Dekel E, Mayo AE, Alon U. Prediction of multidimensional drug
    dose responses based on measurements of drug pairs. PNAS 2016;113:10442-10447.
    """
    P, B, C, F, S = fit_blocks(_ZimmerModel(), data, doses, response, by, replicate, response_kind, scale,
                               int(n_boot), ci_level, seed, bootstrap, dose_units, errors, "fit_zimmer")
    return ZimmerResult(params=P, blocks=B, cells=C, fit=F, settings=S)
