"""The bundled datasets ship in the wheel: build it, install it apart, load every dataset from it.

The source tree is copied to a temporary folder first (the build never writes ``build/`` or
``*.egg-info`` into the working tree).  The wheel is built without build isolation when the
running environment can build wheels (setuptools >= 70.1, or the ``wheel`` package), otherwise
with pip's isolated build (pip fetches the build requirements of ``pyproject.toml``).  The wheel
is installed with ``pip install --no-deps --target`` and a subprocess whose only path to
``comboplan`` is that target loads every dataset, calls every loader and regenerates the
synthetic tables from the installed generator.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _can_build_without_isolation() -> bool:
    if importlib.util.find_spec("wheel") is not None:
        return True
    try:
        import setuptools

        major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
        return (major, minor) >= (70, 1)  # bdist_wheel moved into setuptools in 70.1
    except Exception:  # pragma: no cover - no setuptools at all
        return False


def _copy_sources(dst: Path) -> None:
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "setup.cfg", "setup.py"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dst / name)
    shutil.copytree(ROOT / "comboplan", dst / "comboplan",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


CHECK = textwrap.dedent(
    """
    import json, sys
    from importlib import resources
    from pathlib import Path
    import comboplan, comboplan.datasets as cds
    from comboplan.data import synthetic
    target = Path(sys.argv[1]).resolve()
    assert Path(comboplan.__file__).resolve().is_relative_to(target), comboplan.__file__
    listing = cds.list_datasets()
    folder = resources.files("comboplan.data").joinpath("datasets")
    assert "Synthetic datasets" in folder.joinpath("PROVENANCE.md").read_text("utf-8")
    out = {}
    for name, loader, synth in zip(listing["name"], listing["loader"], listing["synthetic"]):
        df = getattr(cds, loader)()
        assert df.attrs["synthetic"] is bool(synth) and len(df) > 0
        out[name] = len(df)
    for name, df in synthetic.generate_all().items():
        assert synthetic.to_csv_text(df) == folder.joinpath(name + ".csv").read_text("utf-8"), name
    print(json.dumps(out))
    """
)


def test_wheel_ships_every_dataset(tmp_path):
    from comboplan.data.datasets import list_datasets

    src, dist, target = tmp_path / "src", tmp_path / "dist", tmp_path / "target"
    src.mkdir()
    _copy_sources(src)
    pip = [sys.executable, "-m", "pip"]
    flags = ["--no-build-isolation"] if _can_build_without_isolation() else []
    _run([*pip, "wheel", "--no-deps", *flags, "-w", str(dist), str(src)], cwd=tmp_path)
    (wheel,) = dist.glob("comboplan-*.whl")
    _run([*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)], cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    proc = _run([sys.executable, "-c", CHECK, str(target)], cwd=tmp_path, env=env)
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = list_datasets().set_index("name")["rows"].to_dict()
    assert loaded == expected


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
