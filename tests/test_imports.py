"""The layering, checked by tools rather than promised: app pages → ui → nnviz, nnviz never imports
Streamlit, the from-scratch network never imports torch, no import cycles (the contracts in
pyproject.toml, run by import-linter); the pages import only ui, nnviz, Streamlit and the standard
library; and every module of the app imports on its own, in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py"))]


def lint(config: Path) -> int:
    """import-linter's exit status for the contracts in ``config`` (0: all kept); its report is printed."""
    from importlinter.cli import lint_imports

    return lint_imports(config_filename=str(config), no_cache=True, no_logo=True)


def test_the_import_contracts_in_pyproject_are_kept(capsys):
    status = lint(ROOT / "pyproject.toml")
    report = capsys.readouterr().out
    assert status == 0, report
    # Every contract was checked (a contract import-linter skipped would not say KEPT).
    for name in ("never the other way", "never imports Streamlit", "never imports torch", "no import cycles"):
        assert any(name in line and line.endswith("KEPT") for line in report.splitlines()), report


def test_a_broken_contract_fails_the_check(tmp_path, capsys):
    """The check can fail: ui imports Streamlit, so a contract forbidding it is reported broken."""
    config = tmp_path / "broken.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["nnviz", "ui"]\ninclude_external_packages = true\n\n'
                      '[[tool.importlinter.contracts]]\nname = "ui never imports Streamlit"\ntype = "forbidden"\n'
                      'source_modules = ["ui"]\nforbidden_modules = ["streamlit"]\n')
    assert lint(config) == 1
    assert "ui is not allowed to import streamlit" in capsys.readouterr().out


def imported_packages(path: Path) -> set[str]:
    """The top-level names of every package ``path`` imports (absolute imports, at any depth)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_page_imports_only_ui_nnviz_streamlit_and_the_standard_library(page):
    allowed = {"ui", "nnviz", "streamlit", "__future__"} | set(sys.stdlib_module_names)
    assert imported_packages(page) - allowed == set(), f"{page.name} should ask ui/ or nnviz/ instead"


def test_the_page_check_sees_a_forbidden_import(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("import streamlit as st\nfrom nnviz import models\nimport torch.nn\nfrom ui.teacher import presented\n")
    assert imported_packages(page) == {"streamlit", "nnviz", "torch", "ui"}


# Third-party libraries are imported once; then each module of nnviz, ui and testkit is imported alone
# in a forked child, as if it were the first one a program imports: a cycle between modules shows
# up as "cannot import name … (most likely due to a circular import)".
EACH_ALONE = r"""
import importlib, os, pkgutil
import numpy, torch, torchvision, plotly, streamlit, captum, timm, sklearn, PIL  # shared, loaded once
modules = []
for package in ("nnviz", "ui", "testkit"):
    root = importlib.util.find_spec(package).submodule_search_locations
    modules.append(package)
    modules += [m.name for m in pkgutil.walk_packages(root, package + ".") if not m.name.endswith(".__main__")]
for name in sorted(modules):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            message = b""
        except BaseException as exc:
            message = f"{name}: {type(exc).__name__}: {exc}".encode()
        os.write(write, message)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    print(message or f"ok {name}", flush=True)
"""


def test_every_module_imports_on_its_own():
    out = subprocess.run([sys.executable, "-c", EACH_ALONE], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    failures = [line for line in lines if not line.startswith("ok ")]
    assert not failures, "\n".join(failures)
    imported = {line[3:] for line in lines}
    assert {"nnviz.training", "nnviz.commands.train", "ui.train_panel", "testkit.st_protocol"} <= imported
