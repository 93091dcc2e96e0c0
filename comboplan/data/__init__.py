"""Data layer: tidy tables, validation, normalisation, readers and bundled datasets.

Public names (also available from the top-level ``comboplan`` namespace where listed there):

* :func:`read_table` - CSV/TSV/Excel reader with validation and recorded units;
* :func:`normalize`, :func:`to_inhibition`, :func:`to_viability`, :func:`to_fraction`,
  :func:`to_percent`, :func:`gr_values`, :func:`reference_subtract`, :func:`subtract_blank`,
  :func:`percent_of_control`, :func:`plate_correction` - plate-readout normalisation and
  row/column (edge) effects;
* :func:`load_dataset`, :func:`list_datasets` - numbers printed in the anchor papers;
* ``comboplan.data.validate`` - validation primitives (each raises ``DataError``).
"""
from __future__ import annotations

from .datasets import list_datasets, load_dataset
from .io import read_table
from .normalize import (
    gr_values,
    normalize,
    percent_of_control,
    plate_correction,
    reference_subtract,
    subtract_blank,
    to_fraction,
    to_inhibition,
    to_percent,
    to_viability,
)

__all__ = [
    "read_table",
    "normalize",
    "to_inhibition",
    "to_viability",
    "to_fraction",
    "to_percent",
    "gr_values",
    "reference_subtract",
    "subtract_blank",
    "percent_of_control",
    "plate_correction",
    "load_dataset",
    "list_datasets",
]
