"""The import rules of docs/ARCHITECTURE.md: the bot's value types, its ledger and its
prompt building load no Matrix client (and the prompt no database), so stores and pure
logic can be used and tested without them; shared code never reaches into a component;
and the bot and the portal never import each other."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

LOADED_MODULES = (
    "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(list(sys.modules)))"
)


def _packages_loaded_by(module: str) -> set[str]:
    """Top-level packages in `sys.modules` after importing `module` in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED_MODULES, module],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("bot.values", {"nio"}),
        ("bot.ledger", {"nio"}),
        ("bot.prompt", {"nio", "sqlalchemy"}),
    ],
)
def test_a_light_bot_module_loads_without_the_heavy_libraries(module: str, forbidden: set[str]) -> None:
    loaded = _packages_loaded_by(module)
    assert module.split(".")[0] in loaded  # the probe did import it
    assert loaded & forbidden == set(), f"importing {module} loads {sorted(loaded & forbidden)}"


def _imports(path: Path) -> set[str]:
    """The top-level packages a source file imports (relative imports stay inside its own
    package, so they are left out), including `importlib.import_module("...")`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and _called_name(node) in {"import_module", "__import__"}:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return {name.split(".")[0] for name in found}


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else None


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("common", {"bot", "portal", "stack"}),
        ("appdb", {"bot", "portal", "stack"}),
        ("bot", {"portal"}),
        ("portal", {"bot"}),
    ],
)
def test_a_package_never_imports_the_components_it_must_not_know(package: str, forbidden: set[str]) -> None:
    sources = sorted((REPO_ROOT / package).rglob("*.py"))
    assert len(sources) > 3, f"no sources found under {package}/"
    breaches = {
        f"{path.relative_to(REPO_ROOT)} imports {', '.join(sorted(_imports(path) & forbidden))}"
        for path in sources
        if _imports(path) & forbidden
    }
    assert breaches == set()


EACH_ALONE = """
import importlib, json, sys
ours, failures = tuple(sys.argv[1].split(",")), {}
for module in sys.argv[2:]:
    for name in [n for n in sys.modules if n.split(".")[0] in ours]:
        del sys.modules[name]  # each module is imported first, as its own entry point
    try:
        importlib.import_module(module)
    except Exception as error:  # an import cycle shows as ImportError from this entry only
        failures[module] = repr(error)
print(json.dumps(failures))
"""


def test_every_module_imports_on_its_own() -> None:
    """An import cycle breaks only when the cycle is entered at one particular module (a
    test importing `portal.security` first, say); so each module is imported first once."""
    packages = ("common", "appdb", "bot", "portal", "stack")
    modules = [
        ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in packages
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if path.name != "__main__.py" and "migrations" not in path.parts  # alembic runs those
    ]
    result = subprocess.run(
        [sys.executable, "-c", EACH_ALONE, ",".join(packages), *modules],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(modules) > 50
    assert json.loads(result.stdout.splitlines()[-1]) == {}
