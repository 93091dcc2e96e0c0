"""Every name comboplan promises at top level resolves; `import comboplan.bayes` works without PyMC."""
import subprocess
import sys

import comboplan as cp


def test_every_public_name_resolves():
    for name in cp.__all__:
        assert getattr(cp, name) is not None, name


def test_import_comboplan_bayes_is_light():
    code = "import sys, comboplan.bayes as b; b.fit_growth; print('pymc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
