"""Data preparation of the hierarchical Bayesian growth model: validated plain arrays
(:class:`GrowthArrays`, :func:`prepare_growth`) and the arm design with its interaction
(:class:`GrowthDesign`, :func:`growth_design`).  Used by :mod:`comboplan.fitting.bayes.growth`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from ...data.validate import (
    check_groups_nonempty,
    numeric_column,
    require_columns,
    require_frame,
)
from ...exceptions import DataError

__all__ = ["GrowthArrays", "GrowthDesign", "prepare_growth", "growth_design"]


# ---------------------------------------------------------------------------------------
# plain-array data container
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GrowthArrays:
    """Validated growth data as plain arrays (the input of the model builder).

    Attributes
    ----------
    obs_animal : ndarray of int, (n_obs,)
        Animal index of each observation used in the likelihood.
    obs_time : ndarray of float, (n_obs,)
        Time since ``time_origin`` (time unit).
    obs_log_size : ndarray of float, (n_obs,)
        log(size); for censored observations log(LLOQ).
    obs_censored : ndarray of bool, (n_obs,)
        True where the size was below the LLOQ (left-censored).
    obs_label : ndarray of str, (n_obs,)
        Index labels of the rows in the caller's table.
    animal_labels, animal_arm : ndarray
        Animal labels and their arm index.
    arm_labels : ndarray
        Arm labels (order of the ``arm`` coordinate).
    time_origin : float
        Time subtracted from the time column (the baseline time).
    excluded : pandas.DataFrame
        Rows left out of the likelihood with the reason (dropout after necrosis...).
    columns : dict
        Names of the caller's columns (subject, arm, time, size).
    """

    obs_animal: np.ndarray
    obs_time: np.ndarray
    obs_log_size: np.ndarray
    obs_censored: np.ndarray
    obs_label: np.ndarray
    animal_labels: np.ndarray
    animal_arm: np.ndarray
    arm_labels: np.ndarray
    time_origin: float = 0.0
    excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["row", "subject", "time", "reason"]))
    columns: Mapping[str, str] = field(default_factory=dict)
    dropout_reason: np.ndarray | None = None
    units: Mapping[str, str] = field(default_factory=dict)

    @property
    def n_animals(self) -> int:
        return len(self.animal_labels)

    @property
    def n_arms(self) -> int:
        return len(self.arm_labels)

    @property
    def n_obs(self) -> int:
        return len(self.obs_time)

    @property
    def n_dropouts(self) -> int:
        """Animals that left the study early (reason recorded) plus animals with excluded rows."""
        r = self.dropout_reason
        flagged = set(map(str, self.excluded["subject"])) if len(self.excluded) else set()
        if r is not None:
            flagged |= {str(a) for a, x in zip(self.animal_labels, r) if x}
        return len(flagged)

    @classmethod
    def from_growth_data(cls, gd, time_origin: float | None = None) -> "GrowthArrays":
        """Build from a validated :class:`comboplan.growth.data.GrowthData`.

        Censored observations (size 0, below the LLOQ or flagged) enter at log(LLOQ);
        animals that left the study early contribute all their measurements (the data
        layer keeps rows up to dropout only), and their reasons are kept.
        """
        t = np.asarray(gd.time, float)
        if time_origin is None:
            time_origin = float(t.min())
        if (t < time_origin).any():
            raise DataError(f"a measurement is before time_origin={time_origin:g}; choose an earlier origin.")
        cens = np.asarray(gd.censored, bool)
        lim = np.asarray(gd.lloq, float)
        y = np.asarray(gd.size, float)
        bound = np.where(np.isfinite(lim), lim, y)
        bad = cens & ~(bound > 0)
        if bad.any():
            raise DataError("a censored size has no positive detection limit; pass lloq= to validate_growth.")
        bad = ~cens & ~(y > 0)
        if bad.any():
            raise DataError("sizes must be > 0 on the log scale; pass lloq= so that zeros are left-censored.")
        logy = np.log(np.where(cens, bound, y))
        labels = gd.row_labels if gd.row_labels is not None else np.arange(len(t))
        return cls(
            obs_animal=np.asarray(gd.subject_idx, np.int64), obs_time=t - time_origin, obs_log_size=logy,
            obs_censored=cens, obs_label=np.array([str(v) for v in labels], dtype=object),
            animal_labels=np.asarray([str(a) for a in gd.subjects], dtype=object),
            animal_arm=np.asarray(gd.subject_arm, np.int64),
            arm_labels=np.asarray([str(a) for a in gd.arms], dtype=object), time_origin=float(time_origin),
            columns=dict(gd.columns), dropout_reason=np.asarray([str(r) for r in gd.dropout_reason], dtype=object),
            units={"size": gd.size_unit, "time": gd.time_unit},
        )

    @classmethod
    def from_arrays(cls, animal, arm, time, size, *, lloq=None, time_origin=None) -> "GrowthArrays":
        """Build from plain per-observation arrays (labels of any hashable type).

        Parameters
        ----------
        animal, arm : array_like
            Animal and arm label of each observation.
        time : array_like of float
            Observation times (time unit).
        size : array_like of float
            Tumour sizes (> 0, or < ``lloq`` / 0 when censored).
        lloq : float, optional
            Lower limit of quantification (size unit): sizes < lloq (or 0) are left-censored.
        time_origin : float, optional
            Baseline time (default: the earliest time).
        """
        df = pd.DataFrame({"animal": np.asarray(animal), "arm": np.asarray(arm),
                           "time": np.asarray(time, float), "size": np.asarray(size, float)})
        return prepare_growth(df, "animal", "arm", "time", "size", lloq=lloq, time_origin=time_origin)


def _rows(data: pd.DataFrame, mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    return repr(data.index[idx[0]]) if len(idx) else "?"


def prepare_growth(
    data: pd.DataFrame,
    subject: str,
    arm: str,
    time: str,
    size: str,
    *,
    lloq=None,
    censored: str | None = None,
    dropout: str | None = None,
    time_origin: float | None = None,
) -> GrowthArrays:
    """Validate a tidy growth table and turn it into :class:`GrowthArrays`.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per animal and time (not modified).
    subject, arm, time, size : str
        Column names: animal id, treatment arm, time (time unit), tumour size (size unit).
    lloq : float or str, optional
        Lower limit of quantification (size unit), a number or the name of a column
        holding a per-row limit.  Sizes below the LLOQ (including 0 and missing sizes flagged in
        ``censored``) are left-censored at the LLOQ.
    censored : str, optional
        Boolean column marking rows below the detection limit; their bound is the LLOQ
        (or, without ``lloq``, the size value itself).
    dropout : str, optional
        One of three kinds of column:

        * boolean: marks rows recorded at or after the animal dropped out (necrosis,
          ulceration); those rows are excluded from the likelihood and listed in
          ``excluded``, and their size may be missing;
        * numeric: each animal's dropout time; rows with time > dropout time are
          excluded likewise;
        * text: the reason an animal left (``"necrosis"``...), as in
          :func:`comboplan.growth.data.validate_growth`; the table then holds the
          measurements up to dropout only, all of which are used, and the reasons
          are recorded.
    time_origin : float, optional
        Baseline time; default the earliest time in the data.

    Returns
    -------
    GrowthArrays

    Raises
    ------
    DataError
        Missing columns, non-numeric or missing times/sizes, non-positive sizes without
        an LLOQ, animals in several arms, duplicated (animal, time) rows.
    """
    require_frame(data, "growth data")
    cols = [subject, arm, time, size]
    require_columns(data, cols, "growth")
    extra = [c for c in (censored, dropout) if c is not None]
    if isinstance(lloq, str):
        extra.append(lloq)
    require_columns(data, extra, "growth options")
    check_groups_nonempty(data, [subject, arm])
    t = numeric_column(data, time, "time")
    bad = ~np.isfinite(t)
    if bad.any():
        raise DataError(
            f"column {time!r} (time) has {int(bad.sum())} missing or infinite value(s) (first at row "
            f"{_rows(data, bad)}). Every measurement needs its time; drop rows that were not measured."
        )
    y = numeric_column(data, size, "size")
    n = len(data)
    # dropout
    drop = np.zeros(n, bool)
    reasons_row = None
    if dropout is not None:
        s = data[dropout]
        if pd.api.types.is_bool_dtype(s):
            drop = s.to_numpy(dtype=bool)
        elif pd.api.types.is_numeric_dtype(s):
            dt = numeric_column(data, dropout, "dropout time")
            drop = np.isfinite(dt) & (t > dt)
        else:  # reasons ("necrosis", ...): the table holds measurements up to dropout only
            reasons_row = np.array(["" if pd.isna(v) else str(v) for v in s], dtype=object)
    # censoring
    if lloq is None:
        lim = np.full(n, np.nan)
    elif isinstance(lloq, str):
        lim = numeric_column(data, lloq, "lloq")
    else:
        try:
            lim = np.full(n, float(lloq))
        except (TypeError, ValueError):
            raise DataError(f"lloq must be a number (size unit) or a column name; got {lloq!r}.") from None
        if not (np.isfinite(lim[0]) and lim[0] > 0):
            raise DataError(f"lloq must be a finite size > 0 (size unit); got {lloq!r}.")
    cflag = np.zeros(n, bool)
    if censored is not None:
        s = data[censored]
        if not pd.api.types.is_bool_dtype(s):
            raise DataError(f"column {censored!r} (censored) must be boolean (True = below the detection limit).")
        cflag = s.to_numpy(dtype=bool)
    below = np.isfinite(lim) & np.isfinite(y) & ((y < lim) | (y == 0))
    cens = (cflag | below) & ~drop
    bound = np.where(np.isfinite(lim), lim, y)
    bad = cens & ~(np.isfinite(bound) & (bound > 0))
    if bad.any():
        raise DataError(
            f"row {_rows(data, bad)} is censored but has no positive detection limit: give lloq= (a number "
            f"or a column) or put the limit in column {size!r}."
        )
    used = ~drop
    miss = used & ~cens & ~np.isfinite(y)
    if miss.any():
        raise DataError(
            f"column {size!r} (size) has {int(miss.sum())} missing value(s) in rows that are neither "
            f"censored nor after dropout (first at row {_rows(data, miss)}). Mark necrosis/dropout rows with "
            "dropout=<column>, below-detection rows with censored=<column> or lloq=, or drop the rows."
        )
    nonpos = used & ~cens & (y <= 0)
    if nonpos.any():
        raise DataError(
            f"column {size!r} (size) must be > 0 for a log-scale growth model; {int(nonpos.sum())} value(s) "
            f"are not (first at row {_rows(data, nonpos)}). Zero usually means 'below detection': pass "
            "lloq=<detection limit> so these are treated as left-censored."
        )
    # animals / arms
    subj = data[subject].to_numpy()
    arms = data[arm].to_numpy()
    pairs = pd.DataFrame({"s": subj, "a": arms}).drop_duplicates()
    multi = pairs["s"].duplicated(keep=False)
    if multi.any():
        first = pairs.loc[multi, "s"].iloc[0]
        raise DataError(
            f"subject {first!r} (column {subject!r}) appears in more than one arm (column {arm!r}). Animal ids "
            "must be unique across arms: combine them, e.g. data.assign(mouse=data[arm] + '-' + data[subject].astype(str))."
        )
    key = pd.DataFrame({"s": subj, "t": t})
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        raise DataError(
            f"animal {subj[dup][0]!r} has two rows at time {t[dup][0]:g} (first repeat at row "
            f"{_rows(data, dup)}). Average replicate caliper readings first or give each a distinct time."
        )
    arm_labels = pd.unique(arms)
    try:
        arm_labels = np.array(sorted(arm_labels, key=lambda v: list(arms).index(v)), dtype=object)
    except TypeError:  # pragma: no cover
        arm_labels = np.asarray(arm_labels, dtype=object)
    animal_labels = np.asarray(pd.unique(subj), dtype=object)
    a_index = {a: i for i, a in enumerate(animal_labels)}
    arm_index = {a: i for i, a in enumerate(arm_labels)}
    animal_arm = np.array([arm_index[a] for a in pairs.drop_duplicates("s").set_index("s").loc[animal_labels, "a"]])
    if time_origin is None:
        time_origin = float(np.min(t[used])) if used.any() else float(np.min(t))
    rel = t - float(time_origin)
    before = used & (rel < 0)
    if before.any():
        raise DataError(
            f"row {_rows(data, before)} is measured before time_origin={time_origin:g}; choose a time_origin "
            "at or before the first measurement."
        )
    excluded = pd.DataFrame({
        "row": data.index[drop], "subject": subj[drop], "time": t[drop],
        "reason": "after dropout (column %r)" % dropout if dropout else "",
    })
    unused_animals = set(animal_labels) - set(subj[used])
    if unused_animals:
        raise DataError(
            f"animal(s) {sorted(map(str, unused_animals))[:3]} have no measurement before dropout; nothing "
            "can be learned about them. Remove them from the table (and report them)."
        )
    reasons = None
    if reasons_row is not None:
        reasons = np.array([""] * len(animal_labels), dtype=object)
        for sj, rr in zip(subj, reasons_row):
            if rr:
                reasons[a_index[sj]] = rr
    logy = np.where(cens, np.log(np.where(cens, bound, 1.0)), np.log(np.where(used & ~cens, y, 1.0)))
    labels = np.array([str(v) for v in data.index[used]], dtype=object)
    return GrowthArrays(
        obs_animal=np.array([a_index[s] for s in subj[used]], dtype=np.int64),
        obs_time=rel[used].astype(float),
        obs_log_size=logy[used].astype(float),
        obs_censored=cens[used],
        obs_label=labels,
        animal_labels=animal_labels,
        animal_arm=animal_arm.astype(np.int64),
        arm_labels=arm_labels,
        time_origin=float(time_origin),
        excluded=excluded.reset_index(drop=True),
        columns={"subject": subject, "arm": arm, "time": time, "size": size},
        dropout_reason=reasons,
    )


# ---------------------------------------------------------------------------------------
# factorial design
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GrowthDesign:
    """How arm growth rates are parametrised.

    Attributes
    ----------
    factorial : bool
        True when rates are ``r_control + effect_A*A + effect_B*B + interaction*A*B``.
    X : ndarray (n_arms, 4)
        Factorial design matrix (columns: 1, A, B, A*B); zero rows for other arms.
    other_arms : ndarray of int
        Arms outside the factorial design (free rate each, prior ``r_arm``).
    roles : dict
        ``{"control": arm, "A": arm, "B": arm, "AB": arm}`` (factorial only; for
        column designs the arms with each pattern, joined by "|").
    agents : tuple of str
        Names of agents A and B.
    """

    factorial: bool
    X: np.ndarray
    other_arms: np.ndarray
    roles: Mapping[str, str]
    agents: tuple[str, str] = ("A", "B")


def growth_design(data: pd.DataFrame | None, arrays: GrowthArrays, interaction=None, arm_col: str | None = None
                  ) -> GrowthDesign:
    """Work out the factorial design from ``interaction``.

    Parameters
    ----------
    data : pandas.DataFrame or None
        The caller's table (needed when ``interaction`` names columns).
    arrays : GrowthArrays
    interaction : None, tuple of two str, or dict
        * ``None``: every arm has its own rate (no interaction term);
        * ``("drugA", "drugB")``: two columns of ``data`` telling whether each agent is
          given (bool, or a dose where > 0 means given); they must be constant within
          an arm, and the four patterns (none, A, B, both) must all be present;
        * ``{"control": arm, "A": arm, "B": arm, "AB": arm}``: the arms of the 2x2
          factorial by label (optional key ``"names": ("drugA", "drugB")``); other arms
          keep a free rate.
    arm_col : str, optional
        Arm column name (for messages and column designs).

    Returns
    -------
    GrowthDesign
    """
    n_arm = arrays.n_arms
    labels = [str(a) for a in arrays.arm_labels]
    if interaction is None:
        return GrowthDesign(False, np.zeros((n_arm, 4)), np.arange(n_arm), {}, ("A", "B"))
    X = np.zeros((n_arm, 4))
    if isinstance(interaction, Mapping):
        inter = dict(interaction)
        names = tuple(inter.pop("names", ("A", "B")))
        need = ("control", "A", "B", "AB")
        missing = [k for k in need if k not in inter]
        unknown = [k for k in inter if k not in need]
        if missing or unknown:
            raise DataError(
                f"interaction mapping needs exactly the keys {need} (and optionally 'names'); "
                f"missing {missing}, unknown {unknown}. Example: interaction={{'control': 'vehicle', "
                "'A': 'paclitaxel', 'B': 'secretome', 'AB': 'paclitaxel + secretome'}."
            )
        roles = {}
        used = set()
        for role, (a, b) in zip(need, ((0, 0), (1, 0), (0, 1), (1, 1))):
            lab = str(inter[role])
            if lab not in labels:
                raise DataError(
                    f"interaction[{role!r}] = {inter[role]!r} is not an arm of column {arm_col!r}; arms are {labels}."
                )
            if lab in used:
                raise DataError(f"arm {lab!r} is given two roles in interaction; each role needs its own arm.")
            used.add(lab)
            X[labels.index(lab)] = (1, a, b, a * b)
            roles[role] = lab
        other = np.array([i for i, lab in enumerate(labels) if lab not in used], dtype=np.int64)
        return GrowthDesign(True, X, other, roles, (str(names[0]), str(names[1])))
    if isinstance(interaction, (tuple, list)) and len(interaction) == 2 and all(isinstance(c, str) for c in interaction):
        if data is None or any(c not in data.columns for c in interaction):
            if all(c in labels for c in interaction):
                raise DataError(
                    f"interaction={tuple(interaction)} names arms, but a tuple must name two columns that flag "
                    "each agent. Pass a mapping instead: interaction={'control': ..., 'A': ..., 'B': ..., 'AB': ...}."
                )
            require_columns(data if data is not None else pd.DataFrame(), interaction, "interaction agents")
        obs_arm = data[arm_col].astype(str).to_numpy()
        pats = {}
        for c in interaction:
            s = data[c]
            if pd.api.types.is_bool_dtype(s):
                v = s.to_numpy(dtype=bool)
            else:
                v = numeric_column(data, c, f"agent flag/dose {c}")
                if np.isnan(v).any():
                    raise DataError(f"column {c!r} (agent flag/dose) has missing values; use 0 for 'not given'.")
                v = v > 0
            for lab in labels:
                vals = np.unique(v[obs_arm == lab])
                if len(vals) > 1:
                    raise DataError(
                        f"column {c!r} is not constant within arm {lab!r}; each arm must either give agent "
                        f"{c!r} or not."
                    )
                pats.setdefault(lab, []).append(int(vals[0]) if len(vals) else 0)
        roles: dict[str, list[str]] = {"control": [], "A": [], "B": [], "AB": []}
        for lab in labels:
            a, b = pats[lab]
            X[labels.index(lab)] = (1, a, b, a * b)
            roles[{(0, 0): "control", (1, 0): "A", (0, 1): "B", (1, 1): "AB"}[(a, b)]].append(lab)
        missing = [r for r, v in roles.items() if not v]
        if missing:
            raise DataError(
                f"the 2x2 factorial needs arms with neither agent, {interaction[0]} alone, {interaction[1]} alone "
                f"and both; no arm has pattern(s) {missing}. Without all four arms the interaction is not identified."
            )
        return GrowthDesign(True, X, np.zeros(0, np.int64), {k: "|".join(v) for k, v in roles.items()},
                            (str(interaction[0]), str(interaction[1])))
    raise DataError(
        "interaction must be None, a pair of column names flagging agents A and B, or a mapping "
        "{'control': arm, 'A': arm, 'B': arm, 'AB': arm}; got %r." % (interaction,)
    )
