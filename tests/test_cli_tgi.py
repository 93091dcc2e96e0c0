"""``comboplan tgi``: population TGI fit from the command line, then ``comboplan plan`` from its tgi.nc."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from _tgi_study import ARMS, PK, PK_TOML, arm_toml, primed_toml  # noqa: E402
from test_tgi import study  # noqa: E402

DESIGN = (PK_TOML + primed_toml(1.0) + arm_toml("vehicle") + arm_toml("PTX", 10) + arm_toml("CM", products=["primed"])
          + arm_toml("PTX+CM", 10, ["primed"]))

PLAN = ("""
[study]
days = [0, 7, 14, 21]
n_per_arm = 6
seed = 7

[model]
fit = "out/tgi.nc"
""" + PK_TOML + primed_toml(1.0) + arm_toml("PTX10", 10) + """
[uncertainty]
n_draws = 20

[explore]
doses = [0, 5, 10]
companions = ["none", "primed"]
reference = { dose = 10, companion = "none" }
days = [21]
endpoint = "geometric_relative_size"
margin = 0.2
target_probability = 0.8
n_animals = 30
""")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("tgi_cli")
    study(1, n=4).to_csv(d / "mice.csv", index=False)
    (d / "design.toml").write_text(DESIGN)
    return d


def test_tgi_command_equals_the_api_and_feeds_plan(folder, capsys, monkeypatch):
    monkeypatch.chdir(folder)
    rc = main(["tgi", "mice.csv", "--design", "design.toml", "--subject", "mouse", "--arm", "arm", "--time", "day",
               "--size", "volume", "-o", "out"])
    assert rc == 0
    for f in ("population.csv", "individual.csv", "predictions.csv", "summary.txt", "tgi.nc", "tgi_vpc.png"):
        assert (folder / "out" / f).exists(), f
    pop = pd.read_csv(folder / "out" / "population.csv").set_index("parameter")
    api = cp.fit_tgi(pd.read_csv(folder / "mice.csv"), subject="mouse", arm="arm", time="day", size="volume",
                     treatments=ARMS, pk=PK).population.set_index("parameter")
    np.testing.assert_allclose(pop["estimate"], api.loc[pop.index, "estimate"], rtol=1e-6)
    assert "Population TGI fit" in capsys.readouterr().out
    (folder / "plan.toml").write_text(PLAN)
    assert main(["plan", "plan.toml", "-o", "planout"]) == 0
    tab = pd.read_csv(folder / "planout" / "dose_reduction.csv")
    assert set(tab["companion"]) == {"none", "primed"} and len(tab) == 6


def test_tgi_command_errors_are_one_line(folder, capsys, monkeypatch):
    monkeypatch.chdir(folder)
    base = ["tgi", "mice.csv", "--subject", "mouse", "--arm", "arm", "--time", "day", "--size", "volume", "-o", "o2"]
    (folder / "partial.toml").write_text(DESIGN.split("[[arms]]\nname = \"CM\"")[0])
    assert main(base + ["--design", "partial.toml"]) == 2
    err = capsys.readouterr().err
    assert "have no [[arms]] entry" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    (folder / "typo.toml").write_text(DESIGN + "\n[armz]\nx = 1\n")
    assert main(base + ["--design", "typo.toml"]) == 2
    assert "unknown table(s) ['armz']" in capsys.readouterr().err
    assert main(base + ["--design", "design.toml", "--size", "vol"]) == 2
    assert "--size 'vol' is not a column" in capsys.readouterr().err
