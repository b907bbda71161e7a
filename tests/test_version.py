"""The package's version, read from one place (mixedmodels._version)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import mixedmodels as mm
from mixedmodels._version import __version__
from mixedmodels.cli import main
from mixedmodels.config import config

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_the_projects():
    text = (ROOT / "pyproject.toml").read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^version = "([^"]+)"', project, re.MULTILINE).group(1) == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([.+-]\w+)*", __version__)


def test_the_package_the_config_and_the_command_line_report_it(capsys):
    assert mm.__version__ == __version__
    assert config()["libraries"]["mixedmodels"].startswith(__version__)
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"mixedmodels {__version__}"
