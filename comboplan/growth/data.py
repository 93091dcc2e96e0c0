"""Longitudinal tumour-size data: validation, wide spreadsheets, relative size, log transforms.

The tidy layout is one row per animal and measurement time::

    mouse  group      day  lum_ps     dropout
    m01    control      0  1.2e6
    m01    control      7  3.4e6
    ...
    m07    combo       21  2.2e6      necrosis

:func:`validate_growth` checks such a table and returns an immutable :class:`GrowthData`
(arrays indexed by observation plus per-animal metadata) that every growth analysis in
comboplan (and the Bayesian growth model) consumes.  Sizes are tumour volumes (mm^3, from
calipers) or bioluminescence signals (photons/s), declared by the caller; comboplan never
converts units.

Undetectable tumours: a size of 0, or a size below a declared lower limit of quantification
(``lloq``), is flagged as *left-censored*.  Log transforms replace it by a declared value
(``"lloq"`` or ``"half-lloq"``), or the analysis drops it, and the rule is reported in every
result.  comboplan never adds 1 (or any constant) silently before taking logs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..data.validate import (
    _fmt_label,
    check_finite_column,
    check_groups_nonempty,
    numeric_column,
    require_columns,
    require_frame,
)
from ..exceptions import DataError

__all__ = [
    "GrowthData",
    "validate_growth",
    "read_growth_wide",
    "relative_size",
    "SIZE_KINDS",
    "DEFAULT_UNITS",
    "LLOQ_RULES",
]

#: declared kinds of size measurement
SIZE_KINDS = ("volume", "luminescence")
#: default unit of each kind (recorded, never converted)
DEFAULT_UNITS = {"volume": "mm^3", "luminescence": "photons/s"}
#: how a left-censored (undetectable) size enters log-scale analyses
LLOQ_RULES = ("lloq", "half-lloq", "drop")


def _row(data: pd.DataFrame, pos: int) -> str:
    return _fmt_label(data.index[pos])


@dataclass(frozen=True)
class GrowthData:
    """Validated longitudinal tumour-size data (immutable).

    Observation arrays have one entry per measurement, sorted by subject then time.

    Attributes
    ----------
    subject_idx : ndarray of int, shape (n_obs,)
        Index into :attr:`subjects` of each observation.
    arm_idx : ndarray of int, shape (n_obs,)
        Index into :attr:`arms` of each observation.
    time : ndarray of float, shape (n_obs,)
        Measurement time (:attr:`time_unit`).
    size : ndarray of float, shape (n_obs,)
        Measured size (:attr:`size_unit`) as given; left-censored values are kept as given
        (0 or below ``lloq``) and flagged in :attr:`censored`.
    censored : ndarray of bool, shape (n_obs,)
        Left-censored: size 0, below ``lloq``, or flagged by the caller.
    lloq : ndarray of float, shape (n_obs,)
        Lower limit of quantification of each observation (size unit); NaN if none declared.
    subjects : ndarray, shape (n_subjects,)
        Subject (animal) labels.
    arms : ndarray, shape (n_arms,)
        Arm (treatment group) labels, in the declared or first-appearance order.
    subject_arm : ndarray of int, shape (n_subjects,)
        Arm index of each subject.
    dropout_time : ndarray of float, shape (n_subjects,)
        Time of the last measurement of animals that left the study early; NaN for animals
        that completed it.
    dropout_reason : ndarray of str, shape (n_subjects,)
        Why the animal left (``"necrosis"``, ``"size"``, ``"death"``...); ``""`` if it did not.
    kind : {"volume", "luminescence"}
        What ``size`` measures.
    size_unit, time_unit : str
        Units (recorded, never converted).
    doses : pandas.DataFrame or None
        Dose records (``agent, amount, unit, time`` and ``subject`` or ``arm``), if given.
    columns : dict
        The caller's column names: ``{"subject": ..., "arm": ..., "time": ..., "size": ...}``.
    row_labels : ndarray, shape (n_obs,)
        Index label of each observation in the caller's table (for messages).
    """

    subject_idx: np.ndarray
    arm_idx: np.ndarray
    time: np.ndarray
    size: np.ndarray
    censored: np.ndarray
    lloq: np.ndarray
    subjects: np.ndarray
    arms: np.ndarray
    subject_arm: np.ndarray
    dropout_time: np.ndarray
    dropout_reason: np.ndarray
    kind: str = "volume"
    size_unit: str = "mm^3"
    time_unit: str = "day"
    doses: pd.DataFrame | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    row_labels: np.ndarray | None = None

    # ------------------------------------------------------------------ shape
    @property
    def n_obs(self) -> int:
        """Number of observations."""
        return int(self.time.size)

    @property
    def n_subjects(self) -> int:
        """Number of animals."""
        return int(self.subjects.size)

    def arms_by_label(self) -> np.ndarray:
        """Arm indices ordered by arm label (as text): the canonical order in which random draws
        are made per arm, whatever the order the arms appear in the input."""
        return np.argsort(np.asarray(self.arms).astype(str), kind="stable")

    def by_label(self, idx) -> np.ndarray:
        """Animal indices ``idx`` ordered by animal label (as text): a canonical order, so that
        what is drawn for a position (bootstrap resamples) does not depend on the row order of
        the input table."""
        idx = np.asarray(idx)
        return idx[np.argsort(np.asarray(self.subjects[idx]).astype(str), kind="stable")]

    @property
    def n_arms(self) -> int:
        """Number of arms."""
        return int(self.arms.size)

    @property
    def times(self) -> np.ndarray:
        """Sorted distinct measurement times (time unit)."""
        return np.unique(self.time)

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """Coordinates for labelled arrays: ``subject``, ``arm``, ``time``, ``subject_arm``."""
        return {
            "subject": self.subjects,
            "arm": self.arms,
            "time": self.times,
            "subject_arm": self.arms[self.subject_arm],
        }

    @property
    def animals_per_arm(self) -> np.ndarray:
        """Number of animals in each arm, shape (n_arms,)."""
        return np.bincount(self.subject_arm, minlength=self.n_arms)

    @property
    def units(self) -> dict[str, str]:
        """Units of time, size and growth rate."""
        return {"time": self.time_unit, "size": self.size_unit, "rate": f"1/{self.time_unit}"}

    # ------------------------------------------------------------------ per subject
    def baseline_time(self) -> np.ndarray:
        """First measurement time of each animal, shape (n_subjects,) (time unit)."""
        out = np.full(self.n_subjects, np.inf)
        np.minimum.at(out, self.subject_idx, self.time)
        return out

    def last_time(self) -> np.ndarray:
        """Last measurement time of each animal, shape (n_subjects,) (time unit)."""
        out = np.full(self.n_subjects, -np.inf)
        np.maximum.at(out, self.subject_idx, self.time)
        return out

    def baseline_size(self, baseline: str | float = "first") -> np.ndarray:
        """Baseline size of each animal (size unit), shape (n_subjects,).

        Parameters
        ----------
        baseline : "first" or float
            ``"first"``: each animal's first measurement; a number: the measurement at that
            time (every animal must have one).

        Raises
        ------
        DataError
            If an animal has no measurement at the baseline time, or its baseline is
            censored / zero (a relative size to an undetectable baseline is undefined).
        """
        if isinstance(baseline, str):
            if baseline != "first":
                raise DataError(f"baseline must be 'first' or a time, got {baseline!r}.")
            bt = self.baseline_time()
        else:
            bt = np.full(self.n_subjects, float(baseline))
        at = self.time == bt[self.subject_idx]
        has = np.zeros(self.n_subjects, bool)
        has[self.subject_idx[at]] = True
        if not has.all():
            s = self.subjects[np.flatnonzero(~has)[0]]
            raise DataError(
                f"animal {_fmt_label(s)} (column {self.columns.get('subject', 'subject')!r}) has no "
                f"measurement at the baseline time {baseline!r} {self.time_unit}; pass baseline='first' "
                "or a time at which every animal was measured."
            )
        out = np.empty(self.n_subjects)
        out[self.subject_idx[at]] = self.size[at]
        cens = np.zeros(self.n_subjects, bool)
        cens[self.subject_idx[at]] = self.censored[at]
        bad = cens | ~(out > 0)
        if bad.any():
            s = self.subjects[np.flatnonzero(bad)[0]]
            raise DataError(
                f"animal {_fmt_label(s)}: the baseline size is zero or below the detection limit, so a "
                "size relative to baseline is undefined. Choose a later baseline (baseline=<time>) "
                "or analyse absolute sizes."
            )
        return out

    # ------------------------------------------------------------------ transforms
    def time_since_baseline(self, baseline: str | float = "first") -> np.ndarray:
        """Time of each observation minus its animal's baseline time (time unit)."""
        if isinstance(baseline, str):
            return self.time - self.baseline_time()[self.subject_idx]
        return self.time - float(baseline)

    def relative_size(self, baseline: str | float = "first", scale: str = "fraction") -> np.ndarray:
        """Size relative to each animal's baseline (relative tumour volume, RTV).

        Parameters
        ----------
        baseline : "first" or float
            See :meth:`baseline_size`.
        scale : {"fraction", "percent"}
            ``"fraction"``: 1 at baseline; ``"percent"``: 100 at baseline.

        Returns
        -------
        numpy.ndarray, shape (n_obs,)
            Relative size (dimensionless, or percent).  Censored observations hold their
            (0 or sub-LLOQ) value divided by the baseline and stay flagged in :attr:`censored`.
        """
        if scale not in ("fraction", "percent"):
            raise DataError(f"scale must be 'fraction' or 'percent', got {scale!r}.")
        rel = self.size / self.baseline_size(baseline)[self.subject_idx]
        return rel * (100.0 if scale == "percent" else 1.0)

    def substituted_size(self, rule: str = "lloq") -> np.ndarray:
        """Sizes with left-censored values replaced by the declared rule (size unit).

        Parameters
        ----------
        rule : {"lloq", "half-lloq"}
            Replacement of a censored size: its LLOQ, or half of it.

        Returns
        -------
        numpy.ndarray, shape (n_obs,)
            Positive sizes, safe to log.
        """
        if rule not in ("lloq", "half-lloq"):
            raise DataError(f"rule must be 'lloq' or 'half-lloq' here, got {rule!r}.")
        fac = 1.0 if rule == "lloq" else 0.5
        out = self.size.copy()
        c = self.censored
        if c.any():
            if np.any(~np.isfinite(self.lloq[c])):
                pos = int(np.flatnonzero(c & ~np.isfinite(self.lloq))[0])
                raise DataError(
                    f"observation at row {_fmt_label(self._label(pos))} is censored but has no LLOQ; pass "
                    "lloq=<detection limit> to validate_growth."
                )
            out[c] = fac * self.lloq[c]
        return out

    def log_size(self, rule: str = "lloq") -> tuple[np.ndarray, np.ndarray]:
        """Natural log of size with a declared rule for undetectable tumours.

        Parameters
        ----------
        rule : {"lloq", "half-lloq", "drop"}
            ``"lloq"`` / ``"half-lloq"``: censored sizes are replaced by LLOQ (or LLOQ/2)
            before the log; ``"drop"``: they are excluded (``use`` is False).

        Returns
        -------
        values : ndarray, shape (n_obs,)
            ``log(size)`` (log of the size unit); for dropped observations the value is
            ``log(lloq)`` but ``use`` is False.
        use : ndarray of bool, shape (n_obs,)
            Observations to use in the analysis.
        """
        if rule not in LLOQ_RULES:
            raise DataError(f"rule must be one of {LLOQ_RULES}, got {rule!r}.")
        sub = self.substituted_size("lloq" if rule == "drop" else rule)
        use = ~self.censored if rule == "drop" else np.ones(self.n_obs, bool)
        return np.log(sub), use

    def _label(self, pos: int):
        return self.row_labels[pos] if self.row_labels is not None else pos

    # ------------------------------------------------------------------ subsets
    def select(self, mask: np.ndarray) -> "GrowthData":
        """Return a new :class:`GrowthData` with only the observations where ``mask`` is True.

        Animals and arms keep their indices (an animal may end up with no observation).
        """
        mask = np.asarray(mask, bool)
        return replace(
            self,
            subject_idx=self.subject_idx[mask],
            arm_idx=self.arm_idx[mask],
            time=self.time[mask],
            size=self.size[mask],
            censored=self.censored[mask],
            lloq=self.lloq[mask],
            row_labels=None if self.row_labels is None else self.row_labels[mask],
        )

    def until(self, t_max: float) -> "GrowthData":
        """Observations at times ``<= t_max`` (time unit); dropout flags kept as they were."""
        return self.select(self.time <= t_max + 1e-12)

    def last_common_time(self) -> float:
        """Last time at which every animal was still in the study (time unit).

        The minimum over animals of their last measurement time: the cut-off of the
        "analysis up to the last common day" dropout rule (no animal has left before it;
        an animal may still miss an intermediate measurement).
        """
        present = np.unique(self.subject_idx)
        return float(np.min(self.last_time()[present]))

    def to_frame(self, relative: bool = False) -> pd.DataFrame:
        """Tidy table with canonical columns ``subject, arm, time, size, censored, lloq``.

        Parameters
        ----------
        relative : bool
            Add ``relative_size`` (fraction of each animal's first measurement).
        """
        df = pd.DataFrame(
            {
                "subject": self.subjects[self.subject_idx],
                "arm": self.arms[self.arm_idx],
                "time": self.time,
                "size": self.size,
                "censored": self.censored,
                "lloq": self.lloq,
                "dropout_reason": self.dropout_reason[self.subject_idx],
            }
        )
        if relative:
            df["relative_size"] = self.relative_size()
        df.attrs["units"] = {"time": self.time_unit, "size": self.size_unit}
        df.attrs["kind"] = self.kind
        return df

    def to_wide(self, values: str = "size") -> pd.DataFrame:
        """Wide table: one row per animal, one column per time.

        Parameters
        ----------
        values : {"size", "relative_size"}
            What to put in the cells (NaN where an animal was not measured).
        """
        df = self.to_frame(relative=values == "relative_size")
        wide = df.pivot(index=["arm", "subject"], columns="time", values=values)
        wide.attrs["units"] = df.attrs["units"]
        return wide

    def dropout_table(self) -> pd.DataFrame:
        """One row per animal: arm, last time, whether and why it left the study."""
        return pd.DataFrame(
            {
                "subject": self.subjects,
                "arm": self.arms[self.subject_arm],
                "last_time": self.last_time(),
                "dropped_out": self.dropout_reason != "",
                "dropout_reason": self.dropout_reason,
            }
        )


# --------------------------------------------------------------------------- validation
def _bool_column(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    s = data[col]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=bool)
    mapping = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False,
               "1.0": True, "0.0": False, "y": True, "n": False, "": False, "nan": False, "none": False}
    vals = s.astype(str).str.strip().str.lower()
    bad = ~vals.isin(list(mapping)).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {col!r} ({role}) must hold True/False (or 1/0, yes/no); row {_row(data, pos)} has "
            f"{_fmt_label(s.iloc[pos])}."
        )
    return vals.map(mapping).to_numpy(dtype=bool)


def validate_growth(
    data: pd.DataFrame,
    subject: str,
    arm: str,
    time: str,
    size: str,
    *,
    kind: str = "volume",
    size_unit: str | None = None,
    time_unit: str = "day",
    lloq: float | str | None = None,
    censored: str | None = None,
    dropout: str | None = None,
    doses: pd.DataFrame | None = None,
    arm_order: Sequence | None = None,
    min_animals_per_arm: int = 2,
) -> GrowthData:
    """Validate a tidy longitudinal tumour-size table.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per animal and measurement time (not modified).
    subject, arm, time, size : str
        Column names: animal identifier, treatment arm, measurement time (numeric, in
        ``time_unit``, e.g. days since randomisation), tumour size (>= 0, in ``size_unit``).
    kind : {"volume", "luminescence"}
        What the size column measures: caliper/imaging volume (default unit mm^3) or a
        bioluminescence signal (default unit photons/s).
    size_unit : str, optional
        Unit of ``size``; default from ``kind``.  Recorded, never converted.
    time_unit : str
        Unit of ``time`` (default ``"day"``; the mRECIST rules assume days).
    lloq : float or str, optional
        Lower limit of quantification (size unit): a number, or a column giving it per row.
        Sizes of 0 or below it are flagged left-censored.  Required if any size is 0.
    censored : str, optional
        Boolean column flagging left-censored (undetectable) sizes explicitly.
    dropout : str, optional
        Column giving why an animal left the study early (``"necrosis"``, ``"ulceration"``,
        ``"size"``, ``"death"``...), on its last row or on all its rows; empty / NaN for
        animals that completed the study.  The animal's dropout time is its last
        measurement.
    doses : pandas.DataFrame, optional
        Dose records with columns ``agent, amount, unit, time`` and ``subject`` or ``arm``.
    arm_order : sequence, optional
        Order of the arms in results (default: order of first appearance).
    min_animals_per_arm : int
        Arms with fewer animals raise a DataError (default 2: an arm of one animal has no
        between-animal variability).

    Returns
    -------
    GrowthData

    Raises
    ------
    DataError
        Missing columns; non-numeric or missing times; negative, missing or infinite sizes;
        zero sizes without ``lloq``; duplicated subject/time rows; a subject in two arms;
        arms with fewer than ``min_animals_per_arm`` animals; inconsistent dropout reasons;
        unknown ``kind``; malformed dose records.
    """
    require_frame(data, "growth data")
    if kind not in SIZE_KINDS:
        raise DataError(f"kind must be one of {SIZE_KINDS} (what the size column measures), got {kind!r}.")
    cols = [subject, arm, time, size]
    if len(set(cols)) != 4:
        raise DataError(f"subject, arm, time and size must be four different columns; got {cols}.")
    extra = [c for c in (censored, dropout) if c is not None]
    if isinstance(lloq, str):
        extra.append(lloq)
    require_columns(data, cols + extra, role="growth data")
    check_groups_nonempty(data, [subject, arm])
    df = data  # never modified; positions are used for messages

    if pd.api.types.is_datetime64_any_dtype(df[time]):
        raise DataError(
            f"column {time!r} (time) holds dates; growth models need numbers. Convert to days since "
            f"the start, e.g. df['day'] = (df[{time!r}] - df[{time!r}].min()).dt.days, and pass time='day'."
        )
    t = check_finite_column(df, time, "time", "Every measurement needs its time; drop rows that were not measured.")
    y = check_finite_column(df, size, "size", "Drop rows of animals that were not measured (e.g. after they left "
                            "the study, and record why with dropout=<column>); record an undetectable tumour as 0 "
                            "with lloq=<detection limit>.")
    neg = y < 0
    if neg.any():
        pos = int(np.flatnonzero(neg)[0])
        raise DataError(
            f"column {size!r} (size) must be >= 0; got {int(neg.sum())} negative value(s) (first at row "
            f"{_row(df, pos)}: {y[pos]!r}). Was background subtracted from a luminescence signal? "
            "Record signals at or below background as 0 with lloq=<background level>."
        )
    # LLOQ and censoring
    if lloq is None:
        lq = np.full(y.size, np.nan)
    elif isinstance(lloq, str):
        lq = numeric_column(df, lloq, "lloq")
        badl = ~(lq > 0)
        if badl.any():
            pos = int(np.flatnonzero(badl)[0])
            raise DataError(f"column {lloq!r} (lloq) must be > 0 on every row; row {_row(df, pos)} has {lq[pos]!r}.")
    else:
        lv = float(lloq)
        if not (lv > 0 and np.isfinite(lv)):
            raise DataError(f"lloq must be a positive number (size unit), got {lloq!r}.")
        lq = np.full(y.size, lv)
    cens = (y == 0) | (np.isfinite(lq) & (y < lq))
    if censored is not None:
        cens = cens | _bool_column(df, censored, "censored")
    zero_no_lloq = cens & ~np.isfinite(lq)
    if zero_no_lloq.any():
        pos = int(np.flatnonzero(zero_no_lloq)[0])
        raise DataError(
            f"column {size!r} (size): row {_row(df, pos)} is zero or flagged undetectable, but no detection "
            "limit was declared, so it cannot be log-transformed. Pass lloq=<detection limit> (a number in "
            f"the size unit, or a column) to treat it as left-censored; comboplan never adds 1 silently."
        )
    # duplicated subject/time
    key = df[[subject, time]].copy()
    key[time] = t
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        s_val, t_val = df[subject].iloc[pos], t[pos]
        first = int(np.flatnonzero((df[subject] == s_val).to_numpy() & (t == t_val))[0])
        raise DataError(
            f"columns [{subject!r}, {time!r}]: {int(dup.sum())} row(s) repeat an animal and time (first at "
            f"row {_row(df, pos)}, same as row {_row(df, first)}: {subject}={_fmt_label(s_val)}, "
            f"{time}={t_val:g}). Keep one measurement per animal and time (average replicate readings "
            "on purpose), or fix the animal identifiers."
        )
    # subject in two arms
    subj_codes, subjects = pd.factorize(df[subject], sort=False)
    arm_vals = df[arm].to_numpy()
    if arm_order is not None:
        arms = np.asarray(list(arm_order), dtype=object)
        unknown = ~pd.Series(arm_vals).isin(list(arms)).to_numpy()
        if unknown.any():
            pos = int(np.flatnonzero(unknown)[0])
            raise DataError(
                f"column {arm!r} (arm): row {_row(df, pos)} has arm {_fmt_label(arm_vals[pos])}, which is not "
                f"in arm_order={list(arms)}. List every arm."
            )
        arm_codes = pd.Index(arms).get_indexer(arm_vals)
    else:
        arm_codes, arms = pd.factorize(df[arm], sort=False)
        arms = np.asarray(arms, dtype=object)
    n_sub = len(subjects)
    first_pos = np.full(n_sub, len(df))
    np.minimum.at(first_pos, subj_codes, np.arange(len(df)))
    sub_arm = arm_codes[first_pos]
    two = arm_codes != sub_arm[subj_codes]
    if two.any():
        pos = int(np.flatnonzero(two)[0])
        s_val = subjects[subj_codes[pos]]
        raise DataError(
            f"column {subject!r}: animal {_fmt_label(s_val)} appears in two arms ({_fmt_label(arms[sub_arm[subj_codes[pos]]])} "
            f"at row {_row(df, int(first_pos[subj_codes[pos]]))} and {_fmt_label(arm_vals[pos])} at row {_row(df, pos)}). "
            "If animal numbers restart in every arm, make them unique, e.g. "
            f"df['animal'] = df[{arm!r}].astype(str) + '-' + df[{subject!r}].astype(str)."
        )
    counts = np.bincount(sub_arm, minlength=len(arms))
    small = counts < int(min_animals_per_arm)
    if small.any():
        k = int(np.flatnonzero(small)[0])
        raise DataError(
            f"column {arm!r}: arm {_fmt_label(arms[k])} has {int(counts[k])} animal(s); at least "
            f"{int(min_animals_per_arm)} are needed to estimate between-animal variability. Check the arm "
            "labels (typos create one-animal arms), or drop the arm."
        )
    # dropout
    reasons = np.full(n_sub, "", dtype=object)
    if dropout is not None:
        r = df[dropout]
        txt = r.where(r.notna(), "").astype(str).str.strip().str.lower().to_numpy(dtype=object)
        txt = np.where(np.isin(txt, ["", "nan", "none", "false", "0", "no"]), "", txt)
        for pos in np.flatnonzero(txt != ""):
            s = subj_codes[pos]
            if reasons[s] == "":
                reasons[s] = txt[pos]
            elif reasons[s] != txt[pos]:
                raise DataError(
                    f"column {dropout!r} (dropout): animal {_fmt_label(subjects[s])} has two different reasons "
                    f"({reasons[s]!r} and {txt[pos]!r} at row {_row(df, int(pos))}); give one reason per animal."
                )
    order = np.lexsort((t, subj_codes))
    last = np.full(n_sub, -np.inf)
    np.maximum.at(last, subj_codes, t)
    drop_t = np.where(reasons != "", last, np.nan)
    dose_df = _validate_doses(doses, subjects, arms) if doses is not None else None
    return GrowthData(
        subject_idx=subj_codes[order].astype(np.intp),
        arm_idx=arm_codes[order].astype(np.intp),
        time=t[order],
        size=y[order],
        censored=cens[order],
        lloq=lq[order],
        subjects=np.asarray(subjects, dtype=object),
        arms=np.asarray(arms, dtype=object),
        subject_arm=sub_arm.astype(np.intp),
        dropout_time=drop_t,
        dropout_reason=reasons,
        kind=kind,
        size_unit=size_unit or DEFAULT_UNITS[kind],
        time_unit=time_unit,
        doses=dose_df,
        columns={"subject": subject, "arm": arm, "time": time, "size": size},
        row_labels=np.asarray(df.index, dtype=object)[order],
    )


def _validate_doses(doses, subjects, arms) -> pd.DataFrame:
    require_frame(doses, "dose records")
    require_columns(doses, ["agent", "amount", "unit", "time"], role="dose records")
    if "subject" not in doses.columns and "arm" not in doses.columns:
        raise DataError("dose records need a 'subject' or an 'arm' column saying who was dosed.")
    amt = numeric_column(doses, "amount", "dose amount")
    bad = ~np.isfinite(amt) | (amt < 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(f"dose records: column 'amount' must be finite and >= 0 (row {_row(doses, pos)}).")
    tt = numeric_column(doses, "time", "dose time")
    if np.any(~np.isfinite(tt)):
        pos = int(np.flatnonzero(~np.isfinite(tt))[0])
        raise DataError(f"dose records: column 'time' must be numeric (row {_row(doses, pos)}).")
    out = doses.copy()
    out["amount"] = amt
    out["time"] = tt
    if "arm" in out.columns:
        unknown = ~out["arm"].isin(list(arms)).to_numpy()
        if unknown.any():
            pos = int(np.flatnonzero(unknown)[0])
            raise DataError(f"dose records: arm {_fmt_label(out['arm'].iloc[pos])} (row {_row(doses, pos)}) is not in the data.")
    if "subject" in out.columns:
        unknown = ~out["subject"].isin(list(subjects)).to_numpy()
        if unknown.any():
            pos = int(np.flatnonzero(unknown)[0])
            raise DataError(
                f"dose records: subject {_fmt_label(out['subject'].iloc[pos])} (row {_row(doses, pos)}) is not in the data."
            )
    return out


def as_growth_data(data, subject=None, arm=None, time=None, size=None, **kwargs) -> GrowthData:
    """Return ``data`` if it is a :class:`GrowthData`, else validate it as a tidy table.

    ``dropout_column=`` is accepted as an alias of :func:`validate_growth`'s ``dropout``
    (analysis functions use ``dropout`` for the handling rule).
    """
    if isinstance(data, GrowthData):
        return data
    if "dropout_column" in kwargs:
        kwargs["dropout"] = kwargs.pop("dropout_column")
    missing = [n for n, v in (("subject", subject), ("arm", arm), ("time", time), ("size", size)) if v is None]
    if missing:
        raise DataError(
            f"name the column(s) {', '.join(missing)} of the growth table (e.g. subject='mouse', arm='group', "
            "time='day', size='volume_mm3'), or pass a GrowthData from validate_growth()."
        )
    return validate_growth(data, subject, arm, time, size, **kwargs)


def batch_arrays(sizes, time, observed=None):
    """Check the arrays of the many-studies (batch) analysis paths.

    Parameters
    ----------
    sizes : array_like, shape (n_studies, n_subjects, n_times)
        Tumour sizes (size unit), > 0 where observed; NaN = not measured.
    time : array_like, shape (n_times,)
        Measurement times (time unit).
    observed : array_like of bool, optional
        Which sizes were measured (default: the finite ones).

    Returns
    -------
    (sizes, time, observed) as float, float and bool arrays.
    """
    sizes = np.asarray(sizes, float)
    if sizes.ndim != 3:
        raise DataError("sizes must have shape (n_studies, n_subjects, n_times).")
    time = np.asarray(time, float)
    if time.shape != (sizes.shape[2],):
        raise DataError(f"time must have {sizes.shape[2]} entries (one per column of sizes).")
    obs = np.isfinite(sizes) if observed is None else np.asarray(observed, bool) & np.isfinite(sizes)
    if np.any(sizes[obs] <= 0):
        raise DataError("sizes must be > 0 where observed; handle undetectable tumours before the batch path.")
    return sizes, time, obs


def relative_size(data: GrowthData, baseline: str | float = "first", scale: str = "fraction") -> np.ndarray:
    """Relative tumour size (to each animal's baseline); see :meth:`GrowthData.relative_size`."""
    return data.relative_size(baseline=baseline, scale=scale)


# --------------------------------------------------------------------------- wide layout
_TIME_PATTERN = r"^\s*(?:day|d|t|time|week|wk|w|h|hour)?[\s_.\-]*(-?\d+(?:\.\d+)?)\s*$"
_NA_TEXT = ("", "na", "n/a", "nan", "-", "--", "nd", "none", "missing", ".")


def read_growth_wide(
    source,
    subject: str,
    arm: str,
    *,
    time_columns: Sequence[str] | Mapping[str, float] | None = None,
    time_pattern: str = _TIME_PATTERN,
    size_name: str = "size",
    time_name: str = "day",
    na_values: Sequence[str] = _NA_TEXT,
    sep: str | None = None,
    sheet_name: Any = 0,
) -> pd.DataFrame:
    """Read a wide tumour-size sheet (one row per animal, one column per day) into tidy form.

    Parameters
    ----------
    source : pandas.DataFrame, path or buffer
        The wide table, or a CSV/TSV/Excel file holding it (read with
        :func:`comboplan.data.io.read_table`).
    subject, arm : str
        Columns holding the animal identifier and the treatment arm.
    time_columns : sequence of str or mapping, optional
        Measurement columns, or ``{column: time}``.  Default: every column whose name
        matches ``time_pattern`` (``"day0"``, ``"Day 7"``, ``"D14"``, ``"21"``...); the number
        in the name is the time.
    time_pattern : str
        Regular expression with one group capturing the time in a column name.
    size_name, time_name : str
        Names of the size and time columns of the result.
    na_values : sequence of str
        Cell texts meaning "not measured" (dropped, counted in ``attrs["dropped_cells"]``).
    sep, sheet_name
        Passed to the reader when ``source`` is a file.

    Returns
    -------
    pandas.DataFrame
        Tidy table ``subject, arm, <time_name>, <size_name>`` plus any other non-time column
        of the sheet (e.g. a dropout column), sorted by arm, subject and time; cells that
        were empty or in ``na_values`` are dropped (their number is in
        ``attrs["dropped_cells"]``).  Pass it to :func:`validate_growth` or the analyses.

    Raises
    ------
    DataError
        No time columns found, a time column name without a number, duplicated times or
        column names (a repeated ``d7`` header in a file, which pandas would rename
        ``d7.1`` = day 7.1), or a cell holding text that is not a number and not in
        ``na_values``.
    """
    if isinstance(source, pd.DataFrame):
        wide = source
    else:
        from ..data.io import read_table

        wide = read_table(source, sep=sep, sheet_name=sheet_name)
    require_frame(wide, "wide growth table")
    if wide.columns.duplicated().any():
        dup = sorted({str(c) for c in wide.columns[wide.columns.duplicated()]})
        raise DataError(f"wide growth table: column(s) {dup} appear more than once; each measurement day needs "
                        "its own column (rename or remove the repeated one).")
    require_columns(wide, [subject, arm], role="identifiers")
    check_groups_nonempty(wide, [subject, arm])
    if time_columns is None:
        rx = re.compile(time_pattern, re.IGNORECASE)
        tmap = {}
        for c in wide.columns:
            if c in (subject, arm):
                continue
            m = rx.match(str(c))
            if m:
                tmap[c] = float(m.group(1))
        if not tmap:
            raise DataError(
                f"no measurement columns found: no column name matches a time such as 'day0', 'D7' or '14' "
                f"(columns: {list(wide.columns)[:20]}). Pass time_columns={{'<column>': <time>, ...}}."
            )
    elif isinstance(time_columns, Mapping):
        tmap = {c: float(v) for c, v in time_columns.items()}
    else:
        rx = re.compile(time_pattern, re.IGNORECASE)
        tmap = {}
        for c in time_columns:
            m = rx.match(str(c))
            if not m:
                raise DataError(
                    f"cannot read a time from column name {c!r}; pass time_columns as a mapping "
                    "{column: time}."
                )
            tmap[c] = float(m.group(1))
    require_columns(wide, list(tmap), role="measurement times")
    tv = list(tmap.values())
    if len(set(tv)) != len(tv):
        dupt = [c for c in tmap if tv.count(tmap[c]) > 1]
        raise DataError(f"measurement columns {dupt} map to the same time; pass time_columns explicitly.")
    id_cols = [c for c in wide.columns if c not in tmap]
    long = wide.melt(id_vars=id_cols, value_vars=list(tmap), var_name="_col", value_name=size_name)
    long[time_name] = long["_col"].map(tmap).astype(float)
    vals = long[size_name]
    txt = vals.astype(str).str.strip().str.lower()
    empty = vals.isna().to_numpy() | txt.isin([v.lower() for v in na_values]).to_numpy()
    num = pd.to_numeric(vals.where(~empty), errors="coerce")
    badtxt = num.isna().to_numpy() & ~empty
    if badtxt.any():
        pos = int(np.flatnonzero(badtxt)[0])
        col = long["_col"].iloc[pos]
        who = long[subject].iloc[pos]
        raise DataError(
            f"column {col!r}, animal {_fmt_label(who)}: cell {_fmt_label(vals.iloc[pos])} is not a number. Leave cells of "
            "animals that were not measured empty (or list the text in na_values=...), and record why an "
            "animal left the study in a separate column (pass it as dropout=...)."
        )
    long[size_name] = num
    out = long.loc[~empty].drop(columns="_col")
    out = out.sort_values([arm, subject, time_name], kind="stable").reset_index(drop=True)
    out = out[[subject, arm, time_name, size_name] + [c for c in id_cols if c not in (subject, arm)]]
    out.attrs["dropped_cells"] = int(empty.sum())
    out.attrs["time_columns"] = dict(tmap)
    return out
