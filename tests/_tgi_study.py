"""Shared set-up of the TGI tests: the four-arm paclitaxel x secretome study and its TOML tables.

Imported by ``test_tgi.py``, ``test_tgi_ode.py`` and ``test_cli_tgi.py`` (``tests/`` is on
``sys.path`` under pytest).
"""
from __future__ import annotations

import comboplan.simulate as cs
from comboplan.models.pk import Regimen, paclitaxel_mouse
from comboplan.simulate.exposure import secretome

DAYS = (0, 3, 7, 10, 14, 17, 21, 24, 28)
PTX = Regimen.from_schedule(10, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
SEC = secretome("primed", "3x/week from day 0 to 21", half_life=1.0, potency=1.0)
ARMS = {"vehicle": cs.Arm("vehicle"), "PTX": cs.Arm("PTX", [PTX]), "CM": cs.Arm("CM", [], [SEC]),
        "PTX+CM": cs.Arm("PTX+CM", [PTX], [SEC])}
PK = {"paclitaxel": paclitaxel_mouse(bioavailability={"ip": 1.0})}

# the same study as scenario / design TOML tables
PK_TOML = """
[pk.paclitaxel]
preset = "simeoni2004"
bioavailability = { ip = 1.0 }
"""


def primed_toml(potency: float | None = None) -> str:
    """The ``[products.primed]`` table (3x/week to day 21, half-life 1 day; ``potency`` if given).

    Parameters
    ----------
    potency : float, optional
        The product's potency line; omitted when None.

    Returns
    -------
    str
    """
    return ('\n[products.primed]\nkind = "primed"\nschedule = "3x/week from day 0 to 21"\nhalf_life = 1.0\n'
            + (f"potency = {potency!r}\n" if potency is not None else ""))


def arm_toml(name: str, ptx_mg_kg: float | None = None, products=()) -> str:
    """One ``[[arms]]`` table: paclitaxel IP weekly to day 21 at ``ptx_mg_kg`` (if given) and ``products``.

    Parameters
    ----------
    name : str
        The arm's name.
    ptx_mg_kg : float, optional
        Paclitaxel dose (mg/kg); no drug when None.
    products : sequence of str
        Products given (e.g. ``["primed"]``).

    Returns
    -------
    str
    """
    text = f'\n[[arms]]\nname = "{name}"\n'
    if ptx_mg_kg is not None:
        text += (f'drugs = [{{ agent = "paclitaxel", amount = {ptx_mg_kg:g}, unit = "mg/kg", route = "ip", '
                 'schedule = "weekly from day 0 to 21" }]\n')
    if products:
        text += "products = [" + ", ".join(f'"{p}"' for p in products) + "]\n"
    return text
