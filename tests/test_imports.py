"""Fast start (issue 13, item 6): importing the packages and building the CLI parsers loads no heavy
module, measured by the module list of a fresh interpreter (not by wall time)."""
import json
import subprocess
import sys

import pytest

HEAVY = ("sympy", "cvxpy", "matplotlib", "scipy.stats", "scipy", "numba", "numpy")


def _loaded(code):
    """The heavy modules in ``sys.modules`` of a fresh interpreter after running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m in %r)))" % (HEAVY,)
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_import_packages_and_build_parsers_loads_nothing_heavy():
    code = ("import agents, mechanisms, equilibria\n"
            "from mechanisms.__main__ import build_parser as b1\n"
            "from equilibria.__main__ import build_parser as b2\n"
            "b1(); b2()")
    assert _loaded(code) == []


@pytest.mark.parametrize("module", ["mechanisms", "equilibria"])
def test_help_loads_nothing_heavy(module):
    # -X importtime lists every module the interpreter imported while running --help
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", module, "--help"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "usage:" in r.stdout
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert imported and not [m for m in imported if m.split(".")[0] in
                             ("numpy", "scipy", "sympy", "numba", "cvxpy", "matplotlib")]


def test_symbolic_and_optimisation_modules_load_only_when_used():
    # a payment, a game and its best response need numba and scipy, not sympy, cvxpy, matplotlib, scipy.stats;
    # those load on demand (one fresh interpreter, three snapshots of sys.modules)
    code = ("import json, sys\n"
            "snap = lambda: sorted(m for m in ('sympy', 'cvxpy', 'matplotlib', 'scipy.stats') if m in sys.modules)\n"
            "from agents import Strategy, parse_cost\n"
            "from mechanisms import APA\n"
            "from equilibria import Game, best_response\n"
            "APA().expected_payment(Strategy(1.0), Strategy(1.0), n_agents=3, n_items=3)\n"
            "best_response(Game(APA(), parse_cost('quadratic:0.1'), 3, 3), Strategy(1.0))\n"
            "a = snap()\n"
            "parse_cost('quadratic:0.1').sympy()\n"
            "b = snap()\n"
            "from equilibria import design_rule\n"
            "print(json.dumps([a, b, snap()]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    after_work, after_sympy, after_design = json.loads(r.stdout.strip().splitlines()[-1])
    assert after_work == []
    assert after_sympy == ["sympy"]
    assert "cvxpy" in after_design


def test_public_names_resolve_and_dir_lists_them():
    import agents
    import equilibria
    import mechanisms

    for pkg in (agents, mechanisms, equilibria):
        for name in pkg.__all__:
            assert getattr(pkg, name) is not None, (pkg.__name__, name)
        assert set(pkg.__all__) <= set(dir(pkg))
        with pytest.raises(AttributeError):
            getattr(pkg, "no_such_name")


def test_names_shared_with_their_submodule_stay_the_public_object():
    # equilibria.best_response is a function *and* a submodule: after the submodule is imported (here
    # through equilibria.symmetric) the package attribute must still be the function (regression: the
    # import system binds the module there, which PEP 562's __getattr__ does not see)
    code = ("import inspect, equilibria.symmetric, equilibria\n"
            "from equilibria import best_response\n"
            "import mechanisms.principal, mechanisms\n"
            "print(inspect.isfunction(best_response), inspect.isfunction(equilibria.best_response), "
            "inspect.isfunction(mechanisms.principal_utility))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True", "True"]
