"""The one synergy sign convention of the package (DESIGN.md section 8).

Every synergy output -- in-vitro scores (``synergy``, ``score_matrix``, Chou-Talalay, MuSyC,
BRAID, Zimmer), in-vivo scores (``invivo_synergy`` with each of its definitions), survival
Bliss, Bayesian growth and dose-response interactions -- has a ``synergy_score`` where
**> 0 means synergy and < 0 antagonism**.  The raw model quantity keeps its own name and its
own sign (Chou-Talalay ``CI`` < 1 = synergy, Bayesian growth ``interaction`` < 0 = synergy,
Zimmer ``a12`` < 0 = synergy, ...), and every ``summary()`` says both in one sentence made by
:func:`sign_sentence`.
"""
from __future__ import annotations

__all__ = ["SYNERGY_SCORE_SIGN", "sign_sentence"]

#: the convention, word for word the same in every summary
SYNERGY_SCORE_SIGN = "synergy_score > 0 means synergy and < 0 antagonism (in every comboplan result)"


def sign_sentence(definition: str, raw: str | None = None) -> str:
    """The sentence every synergy summary states.

    Parameters
    ----------
    definition : str
        What ``synergy_score`` is in this family (e.g. ``"observed - reference effect"``).
    raw : str, optional
        The raw model quantities with their own signs (e.g. ``"CI < 1 = synergy"``).

    Returns
    -------
    str
        ``"Sign: synergy_score > 0 means synergy and < 0 antagonism (in every comboplan
        result); here synergy_score = <definition>[; raw: <raw>]."``
    """
    text = f"Sign: {SYNERGY_SCORE_SIGN}; here synergy_score = {definition}"
    if raw:
        text += f"; raw: {raw}"
    return text + "."
