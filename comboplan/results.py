"""One result protocol: every result writes itself to netCDF, and :func:`load_result` reads it back.

Every public result (dose-response, synergy, Chou-Talalay, MuSyC, BRAID/Zimmer, GR, growth fits,
endpoints, in-vivo synergy, survival, body weight, TGI, Bayes, cohorts, power, dose reduction)
answers the same five calls:

* tidy :class:`pandas.DataFrame` tables as attributes (``params``, ``cells``, ``table``, ...);
* ``summary()`` -> str;
* ``to_xarray()`` -> :class:`xarray.Dataset` with a ``units`` attribute on every variable;
* ``to_netcdf(path)`` and ``comboplan.load_result(path)``, which returns an equal result;
* ``plot(*, kind=..., ax=None)`` -> the matplotlib Axes.

File layout (netCDF-4 / HDF5, written with h5netcdf)::

    /              the result's to_xarray() dataset (what xarray.open_dataset(path) shows), with
                   attrs result = class name, result_class = module:qualname, comboplan_format = 1
    /comboplan     the result's fields, attrs fields = JSON; every table, array or nested dataset
    /comboplan/*   is a group of its own (a table: one variable per column along ``_cp_row``)

Only comboplan's own classes and functions are rebuilt when a file is read (by module and name,
restricted to ``comboplan.*``); nothing is unpickled.  Objects that cannot be stored (a lambda, an
optimiser state) come back as ``None``, and ``unsaved_fields`` on the loader names them.

Two families keep an older format that :func:`load_result` also reads: Bayesian growth and
dose-response results (the full :class:`arviz.InferenceData`, read by
:func:`comboplan.fitting.bayes.load_result`) and :class:`~comboplan.growth.tgi.TGIFit` (read by
:func:`comboplan.growth.tgi.load_tgi_fit`, returned as a
:class:`~comboplan.growth.tgi_loaded.ReloadedTGIFit`).
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .exceptions import DataError

__all__ = ["load_result", "write_result", "append_root", "ResultIO", "FORMAT_VERSION", "check_kind", "set_units", "units_by"]

FORMAT_VERSION = 1
_GROUP = "comboplan"          # the group holding the fields
_ROW = "_cp_row"              # dimension of a stored table
_JSON = "__cpjson__:"         # prefix of an attribute value stored as JSON

# result name (attrs["result"]) -> module defining it
_RESULTS = {
    "DoseResponseResult": "comboplan.fitting.dose_response",
    "SharedDoseResponseResult": "comboplan.fitting.shared",
    "GRResult": "comboplan.fitting.gr",
    "SynergyResult": "comboplan.combination.api",
    "ChouTalalayResult": "comboplan.combination.chou_talalay",
    "MuSyCResult": "comboplan.combination.musyc_fit",
    "MatrixScores": "comboplan.combination.matrix",
    "SurfaceFitResult": "comboplan.combination.surface",
    "BraidResult": "comboplan.combination.braid",
    "ZimmerResult": "comboplan.combination.zimmer",
    "GrowthFit": "comboplan.growth.api",
    "MixedGrowthFit": "comboplan.growth.api",
    "GrowthEndpoints": "comboplan.growth.endpoints",
    "ArmComparison": "comboplan.growth.endpoints",
    "InVivoSynergy": "comboplan.growth.synergy",
    "SurvivalResult": "comboplan.growth.survival",
    "BodyWeightEndpoints": "comboplan.growth.bodyweight",
    "TGIBayesFit": "comboplan.fitting.bayes.tgi",
    "TGIBayesODEFit": "comboplan.fitting.bayes.tgi_ode",
    "CohortResult": "comboplan.simulate.cohort",
    "PowerResult": "comboplan.simulate.power",
    "NIDesignResult": "comboplan.simulate.noninferiority",
    "NIAnalysis": "comboplan.simulate.noninferiority",
    "DoseReductionResult": "comboplan.simulate.explore",
    "BodyWeightSimulation": "comboplan.simulate.toxicity",
    "BodyWeightFit": "comboplan.simulate.toxicity",
    "PaperCalibration": "comboplan.simulate.paper",
}


def set_units(ds, units: dict, default: str | None = None):
    """Set ``attrs["units"]`` on the variables of ``ds`` named in ``units`` (and ``default`` on any
    other data variable without one); returns ``ds``."""
    for name, u in units.items():
        if name in ds.variables:
            ds[name].attrs["units"] = str(u)
    if default is not None:
        for name in ds.data_vars:
            ds[name].attrs.setdefault("units", default)
    return ds


def units_by(labels, units) -> str:
    """A ``units`` attribute for a variable whose unit depends on a label, e.g.
    ``"e0: %; ec50: ug/mL; h: 1"``."""
    return "; ".join(f"{k}: {u or '1'}" for k, u in zip(labels, units))


def check_kind(kind, allowed, owner: str) -> str:
    """Return ``kind`` if it is one of ``allowed``, else raise an ``InvalidParameterError`` naming them."""
    if kind not in allowed:
        from .exceptions import InvalidParameterError

        raise InvalidParameterError(f"{owner}.plot(): kind must be one of {tuple(allowed)}; got {kind!r}.")
    return kind


class ResultIO:
    """Mixin of the result classes: ``to_netcdf(path)`` (read back with :func:`load_result`)."""

    __slots__ = ()

    def to_netcdf(self, path) -> None:
        """Write the result to a netCDF-4 file; read it back with :func:`comboplan.load_result`.

        The root group holds :meth:`to_xarray` (``xarray.open_dataset(path)`` shows it); the group
        ``comboplan`` holds every table and setting, so the reloaded result is equal to this one.

        Parameters
        ----------
        path : str or path-like
        """
        write_result(self, path)


# ---------------------------------------------------------------------------------- JSON values
def _qualname(obj_or_cls) -> str:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return f"{cls.__module__}:{cls.__qualname__}"


def _import(ref: str):
    """Resolve ``module:qualname``; only comboplan's own objects are resolved."""
    mod, _, qual = ref.partition(":")
    if not (mod == "comboplan" or mod.startswith("comboplan.")) or "<" in qual:
        raise DataError(f"refusing to rebuild {ref!r}: only comboplan's own classes and functions are loaded.")
    obj = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def _safe(name) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(name))[:60] or "_"


class _Writer:
    def __init__(self):
        self.groups: dict[str, object] = {}   # group path -> xarray.Dataset
        self.unsaved: list[str] = []

    def _name(self, where: str) -> str:
        base = f"{_GROUP}/{_safe(where)}"
        name, k = base, 1
        while name in self.groups:
            k += 1
            name = f"{base}~{k}"
        return name

    def enc(self, obj, where: str):
        """A JSON-serialisable description of ``obj``; tables, arrays and datasets become groups."""
        import xarray as xr

        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, float)):
            return obj
        if isinstance(obj, np.generic):
            if isinstance(obj, (np.integer, np.floating, np.bool_)):
                return obj.item()
            if isinstance(obj, np.str_):
                return str(obj)
        if isinstance(obj, tuple):
            return {"__tuple__": [self.enc(x, f"{where}.{i}") for i, x in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.enc(x, f"{where}.{i}") for i, x in enumerate(obj)]
        if isinstance(obj, (set, frozenset)):
            return {"__set__": [self.enc(x, where) for x in obj], "frozen": isinstance(obj, frozenset)}
        if isinstance(obj, pd.DataFrame):
            return self._group(_frame_to_dataset(obj, self), where, "DataFrame")
        if isinstance(obj, pd.Series):
            ds = _frame_to_dataset(obj.to_frame(name=0), self)
            ds.attrs["series_name"] = _JSON + json.dumps(self.enc(obj.name, where))
            return self._group(ds, where, "Series")
        if isinstance(obj, xr.DataArray):
            ds = obj.to_dataset(name="__values__")
            ds.attrs["dataarray_name"] = _JSON + json.dumps(self.enc(obj.name, where))
            return self._group(_sanitise(ds, self), where, "DataArray")
        if isinstance(obj, xr.Dataset):
            return self._group(_sanitise(obj, self), where, "Dataset")
        if isinstance(obj, np.ndarray):
            return self._array(obj, where)
        if type(obj).__name__ == "InferenceData" and hasattr(obj, "groups"):
            return {"__idata__": {g: self.enc(getattr(obj, g), f"{where}.{g}") for g in obj.groups()}}
        if isinstance(obj, pd.Index):
            return {"__index__": self.enc(obj.to_numpy(), where), "name": self.enc(obj.name, where)}
        if isinstance(obj, type) and obj.__module__.startswith("comboplan"):
            return {"__class__": _qualname(obj)}
        if dataclasses.is_dataclass(obj) and type(obj).__module__.startswith("comboplan"):
            return {"__dataclass__": _qualname(obj),
                    "fields": {f.name: self.enc(getattr(obj, f.name), f"{where}.{f.name}")
                               for f in dataclasses.fields(obj)}}
        if isinstance(obj, dict) or (hasattr(obj, "keys") and hasattr(obj, "items")):
            items = list(obj.items())
            if all(isinstance(k, str) and not k.startswith("__") for k, _ in items):
                return {k: self.enc(v, f"{where}.{k}") for k, v in items}
            return {"__dict__": [[self.enc(k, where), self.enc(v, f"{where}.{i}")] for i, (k, v) in enumerate(items)]}
        if callable(obj) and getattr(obj, "__module__", "") and str(obj.__module__).startswith("comboplan") \
                and "<" not in getattr(obj, "__qualname__", "<"):
            return {"__function__": f"{obj.__module__}:{obj.__qualname__}"}
        self.unsaved.append(where)
        return {"__unsaved__": type(obj).__name__}

    def _array(self, a: np.ndarray, where: str):
        if a.dtype.kind in "iufb" or (a.dtype.kind == "U"):
            ds = _sanitise_array_group(a)
            return self._group(ds, where, "ndarray")
        # object / other: element-wise JSON, small in practice (labels, messages)
        return {"__array__": [self.enc(x, where) for x in a.ravel().tolist()], "shape": list(a.shape),
                "dtype": str(a.dtype) if a.dtype.kind != "O" else "object"}

    def _group(self, ds, where: str, kind: str):
        name = self._name(where)
        ds.attrs["_cp_type"] = kind
        self.groups[name] = ds
        return {"__group__": name}


def _sanitise_array_group(a: np.ndarray):
    import xarray as xr

    dims = [f"_cp_d{i}" for i in range(a.ndim)]
    data = a.astype(np.int8) if a.dtype.kind == "b" else a
    ds = xr.Dataset({"values": (dims, data)})
    ds["values"].attrs["_cp_dtype"] = str(a.dtype)
    return ds


def _attr_value(v, writer):
    """An attribute value netCDF can hold; anything else as a JSON string with the _JSON prefix."""
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
        return v
    if isinstance(v, np.ndarray) and v.dtype.kind in "iuf" and v.ndim == 1 and v.size:
        return v
    return _JSON + json.dumps((writer or _Writer()).enc(v, "attr"))


def _sanitise(ds, writer=None):
    """A copy of ``ds`` that h5netcdf can write: attrs made netCDF-safe, object arrays made strings."""
    ds = ds.copy()
    ds.attrs = {str(k): _attr_value(v, writer) for k, v in ds.attrs.items()}
    for name in list(ds.variables):
        var = ds.variables[name]
        attrs = {str(k): _attr_value(v, writer) for k, v in var.attrs.items()}
        data = var.values
        if data.dtype.kind == "O":
            if not all(isinstance(x, str) for x in data.ravel()):
                data = np.array([str(x) for x in data.ravel()], dtype=object).reshape(data.shape)
                attrs["_cp_stringified"] = 1
            if name in ds.coords:
                ds = ds.assign_coords({name: (var.dims, data, attrs)})
            else:
                ds[name] = (var.dims, data, attrs)
        else:
            ds.variables[name].attrs = attrs
        ds.variables[name].encoding = {}
    ds.encoding = {}
    return ds


# ------------------------------------------------------------------------------- tables
def _frame_to_dataset(df: pd.DataFrame, writer: _Writer):
    import xarray as xr

    index_cols = 0
    if not (isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
            and df.index.name is None):
        index_names = list(df.index.names)
        index_cols = len(index_names)
        flat = df.copy()
        flat.index = pd.RangeIndex(len(df))
        idx = df.index.to_frame(index=False)
        idx.columns = list(range(index_cols))
        columns = [("__index__", i) for i in range(index_cols)] + list(df.columns)
        parts = [idx[c] for c in idx.columns] + [flat.iloc[:, j] for j in range(flat.shape[1])]
    else:
        index_names = []
        columns = list(df.columns)
        parts = [df.iloc[:, j] for j in range(df.shape[1])]
    # columns of one encoding and storage type share one 2-D variable (fewer HDF5 datasets: faster)
    blocks: dict = {}
    for j, col in enumerate(parts):
        enc, values, meta = _column(col, writer)
        blocks.setdefault((enc, values.dtype.str if values.dtype.kind != "O" else "O"), []).append((j, values, meta))
    data = {}
    for k, ((enc, _), cols) in enumerate(blocks.items()):
        arr = np.stack([v for _, v, _ in cols], axis=1) if len(df) else np.empty((0, len(cols)),
                                                                                  dtype=cols[0][1].dtype)
        data[f"b{k}"] = xr.Variable((_ROW, f"_cp_col{k}"), arr, {
            "enc": enc, "columns": json.dumps([j for j, _, _ in cols]),
            "meta": _JSON + json.dumps([m for _, _, m in cols])})
    ds = xr.Dataset(data)
    ds.attrs["columns"] = _JSON + json.dumps([writer.enc(c, "column") for c in columns[index_cols:]])
    ds.attrs["n_rows"] = int(len(df))
    ds.attrs["n_index"] = int(index_cols)
    ds.attrs["index_names"] = _JSON + json.dumps([writer.enc(n, "index") for n in index_names])
    ds.attrs["columns_names"] = _JSON + json.dumps([writer.enc(n, "cols") for n in df.columns.names])
    ds.attrs["frame_attrs"] = _JSON + json.dumps(writer.enc(dict(df.attrs), "frame_attrs"))
    return ds


def _column(s: pd.Series, writer: _Writer):
    """(encoding, 1-D values to store, JSON-able description) of one column."""
    dtype = s.dtype
    meta = {"dtype": str(dtype)}
    values = s.to_numpy()
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return "native", values, meta
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return "bool", values.astype(np.int8), meta
    if isinstance(dtype, pd.CategoricalDtype):
        meta.update(categories=[writer.enc(c, "category") for c in dtype.categories], ordered=bool(dtype.ordered))
        return "category", s.cat.codes.to_numpy(np.int64), meta
    if isinstance(dtype, np.dtype) and dtype.kind in "mM":
        return "time", values.view(np.int64), meta
    obj = s.astype(object).to_numpy()
    if len(obj) and all(isinstance(x, str) for x in obj):
        return "str", obj, meta
    enc = [json.dumps(writer.enc(None if (x is pd.NA or x is pd.NaT) else x, "cell")) for x in obj]
    out = np.empty(len(enc), dtype=object)
    out[:] = enc
    return "json", out, meta


def _dataset_to_frame(ds, reader) -> pd.DataFrame:
    n = int(ds.attrs["n_rows"])
    n_index = int(ds.attrs["n_index"])
    cols = reader.json_attr(ds.attrs["columns"])
    found = {}
    for name in ds.data_vars:
        var = ds[name]
        values = np.asarray(var.values)
        meta = reader.json_attr(var.attrs["meta"])
        for i, j in enumerate(json.loads(var.attrs["columns"])):
            found[j] = _decode_column(values[:, i], var.attrs["enc"], meta[i], reader)
    series = [found[j] for j in range(len(found))]
    out = pd.DataFrame({k: s for k, s in enumerate(series[n_index:])}, index=pd.RangeIndex(n))
    if not cols:
        out = pd.DataFrame(index=pd.RangeIndex(n))
    names = reader.json_attr(ds.attrs.get("columns_names", _JSON + "[null]"))
    if cols and all(isinstance(c, tuple) for c in cols) and len(names) > 1:
        out.columns = pd.MultiIndex.from_tuples(cols, names=names)
    else:
        out.columns = pd.Index(cols, dtype=object if cols and not all(isinstance(c, str) for c in cols) else None,
                               name=names[0] if names else None)
    if n_index:
        index_names = reader.json_attr(ds.attrs["index_names"])
        arrays = [pd.Index(series[k]) for k in range(n_index)]
        if n_index == 1:
            out.index = pd.Index(arrays[0], name=index_names[0])
        else:
            out.index = pd.MultiIndex.from_arrays(arrays, names=index_names)
    out.attrs.update(reader.json_attr(ds.attrs.get("frame_attrs", _JSON + "{}")))
    return out


def _decode_column(values, enc, meta, reader) -> pd.Series:
    dtype = meta.get("dtype")
    if enc == "native":
        return pd.Series(values)
    if enc == "bool":
        return pd.Series(values.astype(bool))
    if enc == "category":
        return pd.Series(pd.Categorical.from_codes(np.asarray(values, dtype=np.int64), categories=meta["categories"],
                                                   ordered=bool(meta.get("ordered", False))))
    if enc == "time":
        return pd.Series(np.asarray(values, dtype=np.int64).view(np.dtype(dtype)))
    if enc == "str":
        s = pd.Series(np.asarray(values, dtype=object))
    else:
        s = pd.Series([reader.dec(json.loads(x)) for x in values], dtype=object)
    if dtype and dtype != "object":
        try:
            s = s.astype(dtype)
        except (TypeError, ValueError):
            pass
    return s


# ------------------------------------------------------------------------------- reading
class _Reader:
    def __init__(self, groups: dict):
        self.groups = groups
        self.unsaved: list[str] = []

    def json_attr(self, value):
        if isinstance(value, str) and value.startswith(_JSON):
            return self.dec(json.loads(value[len(_JSON):]))
        return value

    def dec(self, x):
        if isinstance(x, list):
            return [self.dec(v) for v in x]
        if not isinstance(x, dict):
            return x
        if "__tuple__" in x:
            return tuple(self.dec(v) for v in x["__tuple__"])
        if "__set__" in x:
            vals = [self.dec(v) for v in x["__set__"]]
            return frozenset(vals) if x.get("frozen") else set(vals)
        if "__dict__" in x:
            return {self.dec(k): self.dec(v) for k, v in x["__dict__"]}
        if "__group__" in x:
            return self._group(x["__group__"])
        if "__array__" in x:
            vals = [self.dec(v) for v in x["__array__"]]
            a = np.empty(len(vals), dtype=object)
            a[:] = vals
            if x.get("dtype", "object") != "object":
                a = a.astype(x["dtype"])
            return a.reshape(x["shape"])
        if "__idata__" in x:
            import arviz as az

            return az.InferenceData(**{g: self.dec(v) for g, v in x["__idata__"].items()})
        if "__index__" in x:
            return pd.Index(self.dec(x["__index__"]), name=self.dec(x["name"]))
        if "__class__" in x:
            return _import(x["__class__"])
        if "__function__" in x:
            try:
                return _import(x["__function__"])
            except (AttributeError, ImportError):
                self.unsaved.append(x["__function__"])
                return None
        if "__dataclass__" in x:
            cls = _import(x["__dataclass__"])
            return _rebuild(cls, {k: self.dec(v) for k, v in x["fields"].items()})
        if "__unsaved__" in x:
            self.unsaved.append(x["__unsaved__"])
            return None
        return {k: self.dec(v) for k, v in x.items()}

    def _group(self, name: str):
        ds = self.groups["/" + name]
        kind = ds.attrs.get("_cp_type")
        if kind == "DataFrame":
            return _dataset_to_frame(ds, self)
        if kind == "Series":
            df = _dataset_to_frame(ds, self)
            s = df.iloc[:, 0]
            s.name = self.json_attr(ds.attrs["series_name"])
            return s
        if kind == "ndarray":
            v = ds["values"]
            dtype = np.dtype(v.attrs["_cp_dtype"])
            return np.asarray(v.values).astype(dtype)
        ds = _restore(ds, self)
        if kind == "DataArray":
            da = ds["__values__"]
            da.name = self.json_attr(ds.attrs.get("dataarray_name"))
            return da
        return ds


def _restore(ds, reader):
    """Undo :func:`_sanitise` on the attributes (JSON-encoded values) and drop the marker."""
    ds = ds.copy()
    ds.attrs = {k: reader.json_attr(v) for k, v in ds.attrs.items() if k not in ("_cp_type", "dataarray_name")}
    for name in ds.variables:
        var = ds.variables[name]
        var.attrs = {k: reader.json_attr(v) for k, v in var.attrs.items()}
        var.encoding = {}
    ds.encoding = {}
    return ds


def _rebuild(cls, values: dict):
    """An instance of the (frozen) dataclass ``cls`` with the stored field values, without running
    ``__init__`` / ``__post_init__`` (the values are already the validated ones)."""
    obj = object.__new__(cls)
    for f in dataclasses.fields(cls):
        object.__setattr__(obj, f.name, values.get(f.name))
    return obj


# ------------------------------------------------------------------------------- public API
def write_result(result, path, dataset=None) -> None:
    """Write ``result`` to ``path`` (netCDF-4): ``to_xarray()`` at the root, the fields below.

    Parameters
    ----------
    result : a comboplan result (a dataclass)
    path : str or path-like
    dataset : xarray.Dataset, optional
        The root dataset (default ``result.to_xarray()``).
    """
    if not dataclasses.is_dataclass(result):
        raise TypeError(f"write_result needs a comboplan result, got {type(result).__name__}.")
    writer = _Writer()
    fields = {f.name: writer.enc(getattr(result, f.name), f.name) for f in dataclasses.fields(result)}
    path = Path(path)
    import xarray as xr

    root = _root(result, dataset, writer)
    top = xr.Dataset(attrs={"fields": json.dumps(fields), "unsaved": json.dumps(writer.unsaved)})
    # group by group, not as one xarray.DataTree: a tree would drop a nested dataset's coordinates that
    # equal the root's (inherited coordinates) and refuses a group named like a root variable
    root.to_netcdf(path, mode="w", engine="h5netcdf")
    top.to_netcdf(path, mode="a", engine="h5netcdf", group=_GROUP)
    for name, ds in writer.groups.items():
        ds.to_netcdf(path, mode="a", engine="h5netcdf", group=name)


def _root(result, dataset, writer):
    from . import __version__

    root = _sanitise(result.to_xarray() if dataset is None else dataset, writer)
    root.attrs.update({"result": type(result).__name__, "result_class": _qualname(result),
                       "comboplan_format": FORMAT_VERSION, "comboplan_version": __version__})
    return root


def append_root(result, path, dataset=None) -> None:
    """Add ``result.to_xarray()`` (and the ``result`` attributes) as the root group of a netCDF-4
    file that holds only groups (an :class:`arviz.InferenceData` file)."""
    _root(result, dataset, _Writer()).to_netcdf(Path(path), mode="a", engine="h5netcdf")


def _open_groups(path) -> dict:
    import xarray as xr

    try:
        groups = xr.open_groups(path, engine="h5netcdf", decode_times=False, decode_timedelta=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {str(path)!r} as a netCDF-4 file: {exc}") from None
    out = {}
    for name, ds in groups.items():
        out[name] = ds.load()
        ds.close()
    return out


def load_result(path, *, pk=None):
    """Read a result written by its ``to_netcdf(path)`` (any family).

    Parameters
    ----------
    path : str or path-like
        A file written by ``result.to_netcdf(path)``.
    pk : mapping agent -> PKModel, optional
        TGI fits only (:class:`~comboplan.growth.tgi.TGIFit`): the PK models of the fitted drugs,
        which the fit does not store; needed to plan (``.model()``, ``.draws()``) from it.

    Returns
    -------
    result
        The same class as the one written (its tables, settings and ``summary()`` equal the
        original's), except: a ``TGIFit`` comes back as a
        :class:`~comboplan.growth.tgi_loaded.ReloadedTGIFit` (tables, summary and the planning
        interface, no predictions); Bayesian growth / dose-response results as written by
        :func:`comboplan.fitting.bayes.load_result`.

    Raises
    ------
    DataError
        The file cannot be read or was not written by comboplan.

    Examples
    --------
    >>> res = cp.fit_dose_response(df, dose="dose", response="viability", by="agent")
    >>> res.to_netcdf("fit.nc")
    >>> again = cp.load_result("fit.nc")
    >>> print(again.summary())
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no result file at {str(path)!r}.")
    groups = _open_groups(path)
    attrs = dict(groups["/"].attrs) if "/" in groups else {}
    name = attrs.get("result")
    post = groups.get("/posterior")
    if post is not None and "comboplan_meta" in post.attrs and f"/{_GROUP}" not in groups:
        # Bayesian growth / dose-response: the full InferenceData (root: to_xarray(), if written here)
        from .fitting.bayes.results import load_result as load_bayes

        return load_bayes(path)
    if name is None:
        raise DataError(f"{str(path)!r} was not written by a comboplan result's to_netcdf (no 'result' "
                        "attribute).")
    if name == "TGIFit" and f"/{_GROUP}" not in groups:
        from .growth.tgi_loaded import reload_tgi_fit

        return reload_tgi_fit(path, groups["/"], pk=pk)
    top = groups.get(f"/{_GROUP}")
    if top is None or "fields" not in top.attrs:
        raise DataError(f"{str(path)!r}: a {name} file without the '{_GROUP}' group of its fields (written by an "
                        "older comboplan?); open it with xarray.open_dataset.")
    module = _RESULTS.get(str(name))
    cls_ref = str(attrs.get("result_class", f"{module}:{name}"))
    if module is not None and not cls_ref.startswith(module + ":"):
        cls_ref = f"{module}:{name}"
    cls = _import(cls_ref)
    reader = _Reader(groups)
    values = {k: reader.dec(v) for k, v in json.loads(top.attrs["fields"]).items()}
    return _rebuild(cls, values)


def root_dataset(path):
    """The root (``to_xarray()``) dataset of a result file, loaded into memory."""
    return _restore(_open_groups(path)["/"], _Reader({}))
