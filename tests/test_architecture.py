"""The shape of bot/ as checks that can fail: layers, no Slack below the front ends, module
size, text modules used only by their own package, and the import contracts themselves."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import bot
from tests.conftest import REPO

BOT = REPO / "bot"
MAX_LINES = 400
SLACK = ("slack_sdk", "slack_bolt")
FRONT_ENDS = "bot.frontends"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
# In a fresh interpreter: import one module, print the Slack and front-end modules it loaded.
LOADED = (
    "import importlib, json, sys\n"
    "importlib.import_module(sys.argv[1])\n"
    "print(json.dumps(sorted(m for m in sys.modules\n"
    "    if m.split('.')[0] in ('slack_sdk', 'slack_bolt') or m.startswith('bot.frontends'))))\n"
)


def modules() -> list[str]:
    """Every module and package of bot, found by walking the package."""
    return sorted(m.name for m in pkgutil.walk_packages(bot.__path__, "bot."))


def below_front_ends() -> list[str]:
    """Modules outside bot.frontends (bot.__main__ is the command line's entry point: it runs
    `toilbot` when imported)."""
    return [
        m
        for m in modules()
        if m != FRONT_ENDS and not m.startswith(FRONT_ENDS + ".") and m != "bot.__main__"
    ]


def source_files() -> Iterator[tuple[str, Path]]:
    """(module name, path) of every .py file under bot/."""
    for path in sorted(BOT.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def loaded_alone(module: str) -> tuple[str, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", LOADED, module],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert 0 == proc.returncode, f"`import {module}` failed alone:\n{proc.stderr}"
    return module, json.loads(proc.stdout.splitlines()[-1])


def test_no_module_below_the_front_ends_loads_slack_when_imported_alone():
    """Each module outside bot.frontends, imported alone in a fresh interpreter, loads neither
    slack_sdk nor slack_bolt, nor any module of the front ends."""
    found = below_front_ends()
    assert len(found) > 30 and "bot.pipeline.parse" in found and "bot.platform.store" in found
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        offenders = {m: loaded for m, loaded in pool.map(loaded_alone, found) if loaded}
    assert {} == offenders, "modules that load Slack or the front ends when imported alone"


def test_no_module_is_over_400_lines():
    """Every module in bot/ has at most 400 lines."""
    sizes = {name: len(path.read_text().splitlines()) for name, path in source_files()}
    offenders = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert {} == offenders, f"modules over {MAX_LINES} lines"


def imported_modules(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """(dotted name, line) of every import in the module, at any depth (function-level
    imports too); ``from a import b`` yields ``a.b``, which is a module when ``b`` is one."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def is_text_module(name: str) -> bool:
    """``bot.<package...>.text``, where that file exists."""
    parts = name.split(".")
    return (
        parts[0] == "bot"
        and parts[-1] == "text"
        and REPO.joinpath(*parts).with_suffix(".py").is_file()
    )


def test_no_module_imports_the_text_module_of_another_package():
    """A module imports ``bot.X.text`` only from inside package ``bot.X`` (its own package or a
    subpackage of it), counting function-level imports and ``from bot.X import text``."""
    offenders = []
    for module, path in source_files():
        for imported, line in imported_modules(module, path):
            if not is_text_module(imported):
                continue
            owner = imported.rpartition(".")[0]
            if module != owner and not module.startswith(owner + "."):
                offenders.append(f"{path.relative_to(REPO)}:{line} imports {imported}")
    assert [] == sorted(set(offenders))


# --- the import contracts fail on a violation ------------------------------------------------


def contract_names(pyproject: Path) -> dict[str, str]:
    config = tomllib.loads(pyproject.read_text())
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


def lint_imports(root: Path) -> tuple[int, str]:
    """`lint-imports` on the copy of bot/ in ``root``, with its own pyproject.toml."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(root)
    proc = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=root,
        env=env,
    )
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())  # unwrapped


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """bot/ and pyproject.toml copied to a temp dir, where a test may break them."""
    shutil.copytree(BOT, tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def add_import(path: Path, statement: str) -> None:
    """Put ``statement`` after the module's ``from __future__`` line (or at the top)."""
    text = path.read_text()
    future = "from __future__ import annotations\n"
    if future in text:
        text = text.replace(future, f"{future}{statement}\n", 1)
    else:
        text = f"{statement}\n{text}"
    path.write_text(text)


def test_the_import_contracts_pass_on_the_tree_as_it_is(copy):
    """On an unmodified copy of bot/ every contract is kept."""
    code, out = lint_imports(copy)
    assert 0 == code, out
    for name in contract_names(copy / "pyproject.toml").values():
        assert f"{name} KEPT" in out


def test_slack_imported_by_the_pipeline_breaks_a_contract(copy):
    """`import slack_sdk` in bot/pipeline/parse.py fails the check, naming the contract and
    the import."""
    add_import(copy / "bot" / "pipeline" / "parse.py", "import slack_sdk  # a violation")
    code, out = lint_imports(copy)
    names = contract_names(copy / "pyproject.toml")
    assert 0 != code, out
    assert f"{names['slack-only-in-frontends']} BROKEN" in out
    assert "bot.pipeline.parse -> slack_sdk" in out


def test_a_front_end_imported_by_the_platform_breaks_the_layers(copy):
    """`from bot.frontends import cli` in bot/platform/errors.py fails the check, naming the
    layers contract and the import."""
    add_import(copy / "bot" / "platform" / "errors.py", "from bot.frontends import cli")
    code, out = lint_imports(copy)
    names = contract_names(copy / "pyproject.toml")
    assert 0 != code, out
    assert f"{names['layers']} BROKEN" in out
    assert f"{names['slack-only-in-frontends']} BROKEN" in out
    assert "bot.platform.errors -> bot.frontends.cli" in out
