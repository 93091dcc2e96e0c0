"""Every name comboplan promises at top level resolves; `import comboplan.bayes` works without PyMC."""
import subprocess
import sys

import pytest

import comboplan as cp


def test_every_public_name_resolves():
    for name in cp.__all__:
        assert getattr(cp, name) is not None, name


def test_import_comboplan_bayes_is_light():
    code = "import sys, comboplan.bayes as b; b.fit_growth; print('pymc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize("name,n_data", [("fit_dose_response", 3), ("synergy", 3), ("chou_talalay", 3),
                                         ("fit_musyc", 3), ("equivalent_dose", 3), ("score_matrix", 4)])
def test_options_after_the_data_arguments_are_keyword_only(name, n_data):
    """One vocabulary (issue 14): data arguments positional, every option keyword-only, so that
    a call cannot silently bind an option to the wrong position."""
    import inspect

    params = list(inspect.signature(getattr(cp, name)).parameters.values())
    assert all(p.kind == p.POSITIONAL_OR_KEYWORD for p in params[:n_data]), name
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params[n_data:]), \
        [p.name for p in params[n_data:] if p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD)]
