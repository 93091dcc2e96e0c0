"""Building blocks of the ``comboplan demo`` report: figures, tables, paper values, HTML.

A report section receives a :class:`ReportContext` and returns markdown.  Through the
context it saves figures (PNG, embedded in the HTML as data URIs), tables (CSV for
pandas tables, netCDF for xarray/ArviZ objects), console summary lines, and every number
it takes from the papers (:meth:`ReportContext.paper_value`, which reads the bundled
dataset and records the dataset, row reference and value so that each printed paper
number is traceable to ``comboplan/data/datasets/PROVENANCE.md``).

:func:`render_html` turns the assembled markdown into one self-contained HTML page;
``manifest.json`` lists every promised figure, table and paper value, so that a test can
check the page against it.
"""
from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ReportContext", "Artifact", "render_html"]


@dataclass(frozen=True)
class Artifact:
    """A file of the report.

    Attributes
    ----------
    name : str
        File name inside the report folder.
    caption : str
        What it contains (with units).
    section : str
        Title of the section that wrote it.
    kind : str
        ``"figure"`` (PNG), ``"table"`` (CSV) or ``"dataset"`` (netCDF).
    """

    name: str
    caption: str
    section: str
    kind: str


@dataclass
class ReportContext:
    """Where a report section puts what it produces.

    Parameters
    ----------
    outdir : pathlib.Path
        Report folder (created by the caller).
    seed : int
        Seed for the simulation-based parts of the section.
    """

    outdir: Path
    seed: int = 0
    section: str = ""
    artifacts: list = field(default_factory=list)
    paper_values: list = field(default_factory=list)
    summary: list = field(default_factory=list)

    # ---- files ---------------------------------------------------------------------------
    def _register(self, name: str, caption: str, kind: str) -> None:
        if any(a.name == name for a in self.artifacts):
            raise ValueError(f"report file {name!r} is written twice; give it a unique name")
        self.artifacts.append(Artifact(name, caption, self.section, kind))

    def figure(self, fig, name: str, caption: str, dpi: int = 110) -> str:
        """Save a matplotlib figure as PNG, close it and return its markdown image line.

        Parameters
        ----------
        fig : matplotlib.figure.Figure
            The figure.
        name : str
            File name ending in ``.png``.
        caption : str
            Caption shown under the figure (say what the axes are, with units).
        dpi : int
            Resolution (dots per inch).

        Returns
        -------
        str
            Markdown ``![caption](name)`` followed by an italic caption line.
        """
        import matplotlib.pyplot as plt

        if not name.endswith(".png"):
            raise ValueError(f"figure name {name!r} must end in .png")
        fig.savefig(self.outdir / name, dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        self._register(name, caption, "figure")
        return f"![{caption}]({name})\n\n*Figure: {caption}*\n"

    def table(self, obj, name: str, caption: str) -> str:
        """Save a table: a pandas DataFrame as CSV, an xarray/ArviZ object as netCDF.

        Parameters
        ----------
        obj : pandas.DataFrame, xarray.Dataset, xarray.DataArray or object with ``to_netcdf``
            What to save.
        name : str
            File name ending in ``.csv`` (DataFrame) or ``.nc`` (netCDF).
        caption : str
            What the table holds (with units).

        Returns
        -------
        str
            Markdown link line to the file.
        """
        path = self.outdir / name
        if name.endswith(".csv"):
            obj.to_csv(path, index=False)
            kind = "table"
        elif name.endswith(".nc"):
            import xarray as xr

            if isinstance(obj, xr.DataArray):
                obj = obj.to_dataset(name=obj.name or "value")
            if isinstance(obj, xr.Dataset):
                obj = _netcdf_safe(obj)
                obj.to_netcdf(path, engine="h5netcdf")
            else:
                obj.to_netcdf(path)
            kind = "dataset"
        else:
            raise ValueError(f"table name {name!r} must end in .csv or .nc")
        self._register(name, caption, kind)
        return f"Table: [{name}]({name}) ({caption}).\n"

    # ---- paper numbers ---------------------------------------------------------------------
    def paper_value(self, dataset: str, column: str, label: str, **where) -> float:
        """Read one number printed in a paper from a bundled dataset and record where it came from.

        Parameters
        ----------
        dataset : str
            Bundled dataset name (``comboplan.datasets.list_datasets()``).
        column : str
            Column holding the number.
        label : str
            What the number is, for the report's table of paper values.
        **where
            Column = value conditions selecting exactly one row.

        Returns
        -------
        float
            The value (in the dataset column's unit).

        Raises
        ------
        ValueError
            If the conditions do not select exactly one row, or the value is missing.
        """
        from .data.datasets import load_dataset

        df = load_dataset(dataset)
        mask = None
        for k, v in where.items():
            m = df[k] == v
            mask = m if mask is None else mask & m
        rows = df if mask is None else df[mask]
        if len(rows) != 1:
            raise ValueError(f"paper_value({dataset!r}, {column!r}, {where}) selects {len(rows)} rows, not 1")
        value = rows[column].iloc[0]
        if value != value:  # NaN: the paper does not print it
            raise ValueError(f"{dataset}.{column} is empty for {where}: the paper does not print it")
        unit = df.attrs.get("units", {}).get(column, "")
        ref = str(rows["ref"].iloc[0]) if "ref" in rows.columns else ""
        self.paper_values.append({"section": self.section, "quantity": label, "value": float(value), "unit": unit,
                                  "dataset": dataset, "column": column, "ref": ref,
                                  "row": json.dumps({k: _plain(v) for k, v in where.items()})})
        return float(value)

    def paper_rows(self, dataset: str, column: str, label: str, keys, **where):
        """Read several printed numbers (one per selected row) and record each one.

        Parameters
        ----------
        dataset : str
            Bundled dataset name.
        column : str
            Column holding the numbers.
        label : str
            Prefix of the quantity's description; the ``keys`` values of the row are appended.
        keys : sequence of str
            Columns that identify a row within the selection (e.g. ``["dose_ug_per_mL"]``).
        **where
            Column = value conditions selecting the rows.

        Returns
        -------
        pandas.DataFrame
            The selected rows (a copy), in dataset order.
        """
        from .data.datasets import load_dataset

        df = load_dataset(dataset)
        for k, v in where.items():
            df = df[df[k] == v]
        if df.empty:
            raise ValueError(f"paper_rows({dataset!r}, {where}) selects no row")
        for _, r in df.iterrows():
            cond = {**where, **{k: _plain(r[k]) for k in keys}}
            desc = f"{label}, " + ", ".join(f"{k} = {_plain(r[k])}" for k in keys)
            self.paper_value(dataset, column, desc, **cond)
        return df.reset_index(drop=True)

    def say(self, line: str) -> None:
        """Add a line to the console summary (and the report's summary box)."""
        self.summary.append((self.section, line))


def _plain(v):
    try:
        return v.item()
    except AttributeError:
        return v


def _netcdf_safe(ds):
    """Object-dtype text coordinates/variables to str and bool attrs to int for netCDF."""
    ds = ds.copy()
    for name in list(ds.variables):
        if ds[name].dtype == object:
            ds[name] = ds[name].astype(str)
    for k, v in list(ds.attrs.items()):
        if isinstance(v, bool):
            ds.attrs[k] = int(v)
        elif v is None or isinstance(v, dict):
            ds.attrs[k] = str(v)
    return ds


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;line-height:1.45;color:#222}
h1{border-bottom:2px solid #446}h2{border-bottom:1px solid #ccd;margin-top:2em}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.92em}th,td{border:1px solid #ccd;padding:3px 8px}
th{background:#eef}img{max-width:100%;height:auto;border:1px solid #eee}
code{background:#f4f4f8;padding:0 3px}.summary{background:#f6f8ff;border:1px solid #ccd;padding:0.5em 1em}
.toc a{text-decoration:none}em{color:#444}
"""


def render_html(markdown_text: str, outdir: Path, title: str = "comboplan report") -> str:
    """Render the report's markdown as one self-contained HTML page.

    PNG images referenced by file name are embedded as base64 data URIs (the page
    needs no other file to show its figures); links to the CSV/netCDF tables stay
    relative to the report folder.

    Parameters
    ----------
    markdown_text : str
        The report in markdown (tables extension syntax).
    outdir : pathlib.Path
        Folder holding the PNG files.
    title : str
        Page title.

    Returns
    -------
    str
        The HTML document.
    """
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "toc", "sane_lists"])

    def embed(m):
        src = html.unescape(m.group(2))
        path = Path(outdir) / src
        if not src.endswith(".png") or not path.is_file():
            raise FileNotFoundError(f"report figure {src!r} was not written to {outdir}")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'{m.group(1)}src="data:image/png;base64,{data}" data-file="{html.escape(src)}"'

    body = re.sub(r'(<img\b[^>]*?)src="([^"]+)"', embed, body)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n")
