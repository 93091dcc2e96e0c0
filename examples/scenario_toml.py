"""Plan a study from a TOML scenario, through the Python API and through the command line.

The scenario is ``examples/scenario_paclitaxel.toml`` (read it: every number there that
is not cited is a planning ASSUMPTION).  It describes the design of Eiro et al. (2024):
4 arms x 7 mice (control, paclitaxel 10 mg/kg IP weekly, secretome of paclitaxel-primed
stem cells 3x/week, paclitaxel 5 mg/kg + primed secretome), bioluminescence on days 0, 7,
14 and 21; exponential tumour growth with Bliss-independent kill hazards (paclitaxel
through the Simeoni 2004 mouse PK, secretome as a decaying exposure), no interaction
(gamma = 0), parameter uncertainty as 200 draws from a stated covariance.

Everything here is SIMULATED (seeded by the scenario's ``seed = 2024``):

1. Python API: ``comboplan.simulate.load_scenario`` -> ``Scenario.simulate()`` (a virtual
   cohort), ``Scenario.dose_reduction()`` (the ``[explore]`` table: which paclitaxel dose,
   with which companion, stays within 20 % of 10 mg/kg alone with 80 % probability) and
   ``Scenario.power_analysis()`` (the ``[power]`` table: mice per arm for 80 % power of the
   non-inferiority test), with fewer simulated studies than the file asks for (300 instead
   of 1000) to keep the run short.
2. Command line: ``comboplan simulate <toml> -o <dir>`` and
   ``comboplan plan <toml> -o <dir> --n-studies 300``, run as subprocesses; the script
   checks that the CLI's tables equal the API's (same seed, same numbers).

Outputs (CSV, netCDF, PNG, text) go to ./comboplan_output/scenario_toml/ (``--out DIR`` to
change): ``api/`` and ``cli_simulate/``, ``cli_plan/``.

Run:  MPLBACKEND=Agg python examples/scenario_toml.py
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
from _output import output_folder  # examples/_output.py, beside this script

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import comboplan.simulate as cs  # noqa: E402

SCENARIO = Path(__file__).resolve().parent / "scenario_paclitaxel.toml"
N_STUDIES = 300


def comboplan_command() -> list[str]:
    """The ``comboplan`` console script of this interpreter's environment (or its entry point)."""
    exe = shutil.which("comboplan", path=str(Path(sys.executable).parent)) or shutil.which("comboplan")
    if exe:
        return [exe]
    return [sys.executable, "-c", "import sys; from comboplan.cli import main; sys.exit(main())"]


def main() -> Path:
    out = output_folder(__file__, __doc__)
    api = out / "api"
    api.mkdir(parents=True, exist_ok=True)

    # ---- 1. Python API ---------------------------------------------------------------------------
    sc = cs.load_scenario(SCENARIO)
    print(f"scenario {sc.name!r}: arms {[a.name for a in sc.arms]}, days {sc.days.tolist()}, "
          f"{sc.n_per_arm} mice per arm, seed {sc.seed}")

    cohort = sc.simulate()
    cohort.to_frame().to_csv(api / "cohort.csv", index=False)
    cohort.dataset.to_netcdf(api / "cohort.nc", engine="h5netcdf")
    print("\n" + cohort.summary())

    dr = sc.dose_reduction()
    dr.table.to_csv(api / "dose_reduction.csv", index=False)
    dr.minimum_dose.to_csv(api / "minimum_dose.csv", index=False)
    print("\n" + dr.summary())

    pw = sc.power_analysis(n_studies=N_STUDIES)
    pw.table.to_csv(api / "power.csv", index=False)
    n_req = pw.settings["n_required"]
    print("\n" + pw.summary())
    print(f"mice per arm for {pw.settings['target_power']:.0%} power: {n_req if n_req is not None else 'not reached'}")

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    cohort.plot(ax=axes[0])
    dr.plot(ax=axes[1], day=14.0)
    pw.plot(ax=axes[2])
    fig.tight_layout()
    fig.savefig(api / "scenario_api.png", dpi=100)
    plt.close(fig)

    # ---- 2. the same through the command line ----------------------------------------------------
    cmd = comboplan_command()
    env = {**os.environ, "MPLBACKEND": "Agg"}
    for sub, extra in (("simulate", []), ("plan", ["--n-studies", str(N_STUDIES)])):
        args = [*cmd, sub, str(SCENARIO), "-o", str(out / f"cli_{sub}"), *extra]
        print(f"\n$ comboplan {sub} {SCENARIO.name} -o {out / f'cli_{sub}'} {' '.join(extra)}".rstrip())
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "")
        if proc.returncode != 0:
            raise RuntimeError(f"comboplan {sub} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")

    # ---- 3. the CLI's numbers are the API's numbers ---------------------------------------------
    pairs = [("cli_simulate/cohort.csv", cohort.to_frame()), ("cli_plan/dose_reduction.csv", dr.table),
             ("cli_plan/minimum_dose.csv", dr.minimum_dose), ("cli_plan/power.csv", pw.table)]
    for rel, frame in pairs:
        cli = pd.read_csv(out / rel)
        num = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        assert list(cli.columns) == list(frame.columns), rel
        assert np.allclose(cli[num].to_numpy(float), frame[num].to_numpy(float), rtol=1e-9, equal_nan=True), rel
    print("\nCLI tables equal the API tables (cohort, dose reduction, minimum dose, power).")

    md = dr.minimum_dose[dr.minimum_dose["day"] == 14.0].set_index("companion")["min_dose"]
    print("Outcome (day 14, non-inferior to 10 mg/kg alone with >= 80 % probability): minimum paclitaxel dose "
          + ", ".join(f"{c}: {v:g} mg/kg" for c, v in md.items())
          + f"; {n_req if n_req is not None else '>' + str(max(pw.table['n_per_arm']))} mice per arm for 80 % power.")
    print(f"outputs in {out}")
    return out


if __name__ == "__main__":
    main()
