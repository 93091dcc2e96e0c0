"""README.md runs as written: every ```python block, in order, in one namespace, on bundled data.

The blocks run in a temporary folder (they write fit.nc) with the Agg backend, warnings recorded
(the README shows an ExtrapolationWarning on purpose). Then: the quick start is a well-posed fit
(finite standard errors, finite AIC, no exact fit) and the output the README shows under it is
what the code prints; the calls written inline in the prose name real functions and keywords.
"""
from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def fenced_blocks(text: str, lang: str) -> list[str]:
    """The fenced blocks of one language, in order."""
    return [m.group(2) for m in _BLOCK.finditer(text) if m.group(1) == lang]


def test_block_extraction():
    md = "x\n```python\na = 1\n```\n```text\nout\n```\n```bash\nls\n```\n```python\nb = a + 1\n```\n"
    assert fenced_blocks(md, "python") == ["a = 1\n", "b = a + 1\n"]
    assert fenced_blocks(md, "text") == ["out\n"]


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """Execute every python block of the README once; return the namespace, stdout per block, warnings."""
    import matplotlib

    matplotlib.use("Agg")
    blocks = fenced_blocks(README.read_text(encoding="utf-8"), "python")
    assert len(blocks) >= 8
    mp = pytest.MonkeyPatch()
    mp.setenv("MPLBACKEND", "Agg")
    mp.chdir(tmp_path_factory.mktemp("readme"))
    ns: dict = {"__name__": "__readme__"}
    printed, snapshots = [], []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i, code in enumerate(blocks, 1):
                buf = io.StringIO()
                try:
                    with contextlib.redirect_stdout(buf):
                        exec(compile(code, f"README.md[block {i}]", "exec"), ns)
                except Exception as exc:  # pragma: no cover - the failure message is the point
                    raise AssertionError(f"README block {i} failed: {exc!r}\n--- block ---\n{code}") from exc
                printed.append(buf.getvalue())
                snapshots.append(dict(ns))        # names as each block left them (later blocks re-bind `res`)
        files = sorted(p.name for p in Path.cwd().iterdir())
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
        mp.undo()
    return {"ns": ns, "printed": printed, "snapshots": snapshots, "files": files,
            "warnings": [(w.category.__name__, str(w.message)) for w in caught]}


def test_readme_blocks_run(readme_run):
    assert "fit.nc" in readme_run["files"]


def test_quick_start_is_well_posed(readme_run):
    res = readme_run["snapshots"][0]["res"]
    p = res.params
    free = p[~p["fixed"]]
    assert len(free) >= 2 and np.isfinite(free["stderr"]).all() and (free["stderr"] > 0).all()
    assert np.isfinite(free[["ci_low", "ci_high"]].to_numpy()).all()
    c = res.curves.iloc[0]
    assert bool(c["converged"]) and "exact fit" not in c["message"]
    assert np.isfinite(c["aic"]) and c["nobs"] > 10 * c["npar"]
    # EC50 lies beyond the tested doses: NaN with a reason and a warning, as the text says
    assert any(cat == "ExtrapolationWarning" for cat, _ in readme_run["warnings"])


def _norm(line: str) -> str:
    return " ".join(line.split())


def test_quick_start_output_shown_is_what_it_prints(readme_run):
    """Every line of the ```text block under the quick start is a line of what block 1 printed."""
    shown = fenced_blocks(README.read_text(encoding="utf-8"), "text")[0]
    printed = {_norm(line) for line in readme_run["printed"][0].splitlines()}
    lines = [_norm(line) for line in shown.splitlines() if line.strip()]
    assert len(lines) >= 5
    missing = [line for line in lines if line not in printed]
    assert not missing, "README shows lines the quick start does not print:\n" + "\n".join(missing) + \
        "\n--- printed ---\n" + readme_run["printed"][0]


def test_quick_start_prose_numbers(readme_run):
    """The numbers the prose under the quick start quotes."""
    import comboplan as cp

    wells = cp.load_dataset("karimi2025_mtt_synthetic").query("time_h == 24")
    assert len(wells) == 72 and wells.groupby("dose_ug_per_mL").size().eq(18).all()     # 6 assays x 3 wells
    means = wells.groupby("dose_ug_per_mL")["viability_pct"].mean()
    assert means[[0.0, 25.0, 50.0]].round(1).tolist() == [100.0, 75.1, 58.0] and wells["dose_ug_per_mL"].max() == 50
    assert round(float(readme_run["snapshots"][0]["res"].params.set_index("param").loc["ec50", "estimate"])) == 67
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free = cp.fit_dose_response(wells, dose="dose_ug_per_mL", response="viability_pct", model="hill4")
    se_einf = free.params.set_index("param").loc["einf", "stderr"]
    assert round(se_einf) == 63


def _inline_code(text: str):
    """Inline code spans of the prose (outside fenced blocks) that parse as Python expressions."""
    prose = re.sub(r"^```.*?^```[ \t]*$", "", text, flags=re.S | re.M)
    for span in re.findall(r"`([^`\n]+)`", prose):
        if re.search(r"\.(py|toml|md|nc|csv|html|png)$", span):      # file names
            continue
        try:
            yield span, ast.parse(span, mode="eval").body
        except SyntaxError:
            continue


def _resolve(node: ast.expr):
    """The object a dotted name of the README stands for; None for names of the reader's own variables.

    Roots: ``cp`` / ``comboplan`` (the package), ``cs`` (comboplan.simulate), a bare public name
    (``fit_tgi``), and ``fit`` (the TGIFit of the planning block).
    """
    import importlib

    import comboplan as cp

    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.reverse()
    if node.id in ("cp", "comboplan"):
        obj = cp
    elif node.id == "cs":
        obj = importlib.import_module("comboplan.simulate")
    elif node.id == "fit":
        obj = cp.TGIFit
    elif node.id in cp.__all__:
        obj = getattr(cp, node.id)
    else:
        return None
    for i, name in enumerate(parts):
        if not hasattr(obj, name) and inspect.ismodule(obj):      # a submodule not yet imported
            importlib.import_module(".".join([obj.__name__, name]))
        obj = getattr(obj, name)
    return obj


def test_inline_code_names_real_functions_and_keywords():
    """`cp.to_inhibition`, `fit_tgi(..., estimator="bayes")`...: the names exist, the keywords are accepted."""
    checked = 0
    for span, node in _inline_code(README.read_text(encoding="utf-8")):
        call = node if isinstance(node, ast.Call) else None
        target = call.func if call is not None else node
        if not isinstance(target, (ast.Name, ast.Attribute)):
            continue
        try:
            obj = _resolve(target)
        except (AttributeError, ImportError) as exc:
            raise AssertionError(f"README names something that does not exist: `{span}` ({exc})") from exc
        if obj is None:
            continue
        checked += 1
        if call is None or not callable(obj):
            continue
        sig = inspect.signature(obj)
        if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            continue
        for kw in call.keywords:
            assert kw.arg in sig.parameters, f"README: `{span}`: {getattr(obj, '__name__', obj)}() has no parameter {kw.arg!r}"
    assert checked >= 5


def test_examples_named_in_the_readme_exist_and_all_are_named():
    text = README.read_text(encoding="utf-8")
    section = text.split("- `examples/`", 1)[1]
    named = set(re.findall(r"`([\w.]+\.py)`", section))
    have = {p.name for p in (README.parent / "examples").glob("*.py") if not p.name.startswith("_")}
    assert named == have, (sorted(named - have), sorted(have - named))


def test_examples_document_their_output_folder():
    """Every example takes --out and says in --help that it writes to ./comboplan_output/<script>/ otherwise."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "COMBOPLAN_EXAMPLE_OUT"}
    env["MPLBACKEND"] = "Agg"
    assert "comboplan_output/<script name>/" in README.read_text(encoding="utf-8")
    for script in sorted(p for p in (README.parent / "examples").glob("*.py") if not p.name.startswith("_")):
        proc = subprocess.run([sys.executable, str(script), "--help"], env=env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, (script.name, proc.stderr[-2000:])
        assert "--out" in proc.stdout and f"comboplan_output/{script.stem}/" in " ".join(proc.stdout.split()), \
            (script.name, proc.stdout)
