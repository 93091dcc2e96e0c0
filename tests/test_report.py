"""The main job's report (`comboplan demo`): the HTML shows every promised figure and table, and every
number taken from the papers is traceable to a bundled dataset row and its provenance entry."""
import base64
import io
import json
import re
from html.parser import HTMLParser
from importlib import resources

import pandas as pd
import pytest
import xarray as xr

import comboplan as cp
from comboplan.report import run_demo


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.hrefs, self.ids, self.h2 = [], [], set(), []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.imgs.append(a)
        elif tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        elif tag == "h2":
            self._in_h2 = True
            self.h2.append("")

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2[-1] += data


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    stream = io.StringIO()
    page = run_demo(out, stream=stream)
    parser = _Collect()
    parser.feed(page.read_text(encoding="utf-8"))
    manifest = json.loads((out / "manifest.json").read_text())
    return out, page, parser, manifest, stream.getvalue()


def test_html_embeds_every_promised_figure(report):
    out, page, html, manifest, _ = report
    assert len(manifest["figures"]) >= 5
    embedded = {}
    for img in html.imgs:
        src = img["src"]
        assert src.startswith("data:image/png;base64,"), "figures must be embedded, not linked"
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
        assert img.get("alt"), "every figure has alternative text"
        embedded[img["data-file"]] = png
    assert sorted(embedded) == sorted(manifest["figures"])
    for name, png in embedded.items():
        assert (out / name).read_bytes() == png


def test_html_links_every_promised_table_and_the_files_exist(report):
    out, _, html, manifest, _ = report
    assert any(t.endswith(".nc") for t in manifest["tables"]) and any(t.endswith(".csv") for t in manifest["tables"])
    for name in manifest["tables"]:
        assert name in html.hrefs, f"{name} is not linked from report.html"
        if name.endswith(".csv"):
            assert len(pd.read_csv(out / name)) > 0
        else:
            with xr.open_datatree(out / name, engine="h5netcdf") as tree:  # InferenceData files have groups
                assert sum(len(node.ds.data_vars) for node in tree.subtree) > 0, name
    # nothing in the folder is unannounced, and every internal anchor resolves
    written = {p.name for p in out.iterdir()} - {"report.html", "report.md", "manifest.json"}
    assert written == set(manifest["figures"]) | set(manifest["tables"])
    for href in html.hrefs:
        if href.startswith("#"):
            assert href[1:] in html.ids, href


def test_every_section_and_the_summary_are_present(report):
    _, _, html, manifest, printed = report
    assert manifest["sections"] == [t for t, _ in __import__("comboplan.report").report._SECTIONS]
    for title in manifest["sections"] + ["Summary", "Paper numbers used in this report", "Files of this report"]:
        assert title in html.h2
    # the console summary names the headline answers the issue asks for
    text = "\n".join(manifest["summary"])
    assert "Bliss excess" in text and "positive = synergy" in text and "CI" in text
    assert "growth rates" in text and "In-vivo Bliss score over time" in text
    assert "P(5 mg/kg + primed secretome non-inferior" in text and "Mice per arm for 80 % power" in text
    assert all(line in printed for line in manifest["summary"])
    assert "[5/5]" in printed  # progress display


def test_every_paper_number_is_traceable(report):
    out, _, _, manifest, _ = report
    pv = pd.read_csv(out / "paper_values.csv")
    assert len(pv) == manifest["paper_values"] >= 15
    prov = resources.files("comboplan.data").joinpath("datasets", "PROVENANCE.md").read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    body = md.split("## Paper numbers used in this report")[0]
    for r in pv.itertuples():
        d = cp.load_dataset(r.dataset)
        sel = d
        for k, v in json.loads(r.row).items():
            sel = sel[sel[k] == v]
        assert len(sel) == 1, r
        assert float(sel[r.column].iloc[0]) == pytest.approx(r.value, abs=0) and sel.ref.iloc[0] == r.ref
        assert re.search(rf"^\| {re.escape(r.ref)} \|", prov, re.M), f"ref {r.ref} missing from PROVENANCE.md"
        # the number itself is printed in the report's analyses, as the paper prints it
        if r.column != "n_mice":
            assert f"{r.value:g}" in body, (r.quantity, r.value)
    # the headline numbers of the papers are among them
    for v in (37.4, 43.2, 86.4, 274, 113, 131, 75.1, 58):
        assert (pv.value == v).any(), v
