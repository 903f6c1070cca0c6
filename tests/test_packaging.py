"""Packaging (issue 13, item 6): console scripts, __version__ from one source, LICENSE, py.typed."""
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_console_scripts_point_at_the_cli_mains():
    import importlib

    scripts = PYPROJECT["project"]["scripts"]
    assert scripts == {"mechanisms": "mechanisms.__main__:main", "equilibria": "equilibria.__main__:main",
                       "crowd-sft": "crowd_sft.__main__:main"}
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func))


@pytest.mark.parametrize("package", ["agents", "mechanisms", "equilibria", "crowd_sft"])
def test_version_single_source(package):
    import importlib
    from importlib.metadata import PackageNotFoundError, version

    v = importlib.import_module(package).__version__
    try:
        assert v == version("feedback-mechanisms")
    except PackageNotFoundError:
        assert v == "0+unknown"
    assert re.match(r"^\d+(\.\d+)*", v) or v == "0+unknown"
    assert PYPROJECT["project"]["version"] == v or v == "0+unknown"


def test_license_and_py_typed():
    text = (ROOT / "LICENSE").read_text()
    assert PYPROJECT["project"]["license"] == "BSD-3-Clause" and "BSD 3-Clause License" in text
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    data = PYPROJECT["tool"]["setuptools"]["package-data"]
    for package in ("agents", "mechanisms", "equilibria", "crowd_sft"):
        assert (ROOT / package / "py.typed").exists()
        assert "py.typed" in data[package]


@pytest.mark.parametrize("module", ["mechanisms", "equilibria"])
def test_version_flag(module, capsys):
    import importlib

    main = importlib.import_module(f"{module}.__main__").main
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip().endswith(importlib.import_module(module).__version__)


def test_pytest_collects_the_package_doctests():
    opts = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in opts["addopts"]
    assert {"tests", "agents", "mechanisms", "equilibria", "crowd_sft"} <= set(opts["testpaths"])
    assert not {"notebooks", "benchmarks"} & set(opts["testpaths"])
