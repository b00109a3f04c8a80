"""Who may import whom: the layers of twin stay apart, so that each can be understood, tested
and replaced on its own (every import counts, also one inside a function; only names imported
for type hints, under ``if TYPE_CHECKING:``, are not a dependency)."""

from __future__ import annotations

import ast

import pytest
from conftest import ROOT

PACKAGE = ROOT / "twin"


def imports_of(layer: str) -> dict[str, set[str]]:
    """Every module a layer imports -> the files of the layer that import it."""
    found: dict[str, set[str]] = {}
    folder = ROOT / layer if layer == "web" else PACKAGE / layer
    files = sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{layer}.py"]
    for path in files:
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node of the tree except what sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            continue
        yield node
        yield from _runtime_nodes(node)


def offending(layer: str, forbidden: tuple[str, ...]) -> dict[str, set[str]]:
    return {
        name: files
        for name, files in imports_of(layer).items()
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    }


ENGINES = ("twin.line", "twin.physics", "twin.control")
ABOVE = ("twin.plant", "twin.experiment", "twin.record", "twin.cli", "twin.hints")


@pytest.mark.parametrize("layer", ["line", "physics", "control"])
def test_the_line_physics_and_control_do_not_import_each_other(layer):
    others = tuple(e for e in ENGINES if e != f"twin.{layer}")
    assert offending(layer, others + ABOVE) == {}


def test_the_scenario_is_data_and_imports_no_engine():
    assert offending("scenario", ENGINES + ABOVE + ("simpy", "pybullet")) == {}


def test_the_run_store_imports_no_simulation_library():
    assert offending("record", (*ENGINES, "twin.plant", "simpy", "pybullet", "twin.cli")) == {}


def test_the_command_line_starts_runs_only_through_the_facade():
    # It reads runs through twin.record; it never builds a plant or runs replications itself.
    assert offending("cli", ("twin.plant", "twin.line", "twin.experiment")) == {}


def test_the_web_app_reads_runs_through_the_store_and_starts_them_through_the_facade():
    engine = ("twin.plant", "twin.line", "twin.physics", "twin.control", "twin.experiment")
    assert offending("web", (*engine, "twin.cli", "simpy", "pybullet")) == {}


WEB_STACK = ("web", "dash", "plotly")


def _imports_with_place(tree: ast.AST, in_function: bool = False):
    """Every runtime import of the tree, with whether it sits inside a function."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            continue
        if isinstance(node, ast.Import):
            yield [alias.name for alias in node.names], in_function, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield [node.module], in_function, node.lineno
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _imports_with_place(node, inside)


def test_the_package_loads_the_web_app_only_inside_the_commands_that_need_it():
    # `import twin` and every other command stay quick and need no Dash or plotly: only a
    # command of twin.cli that serves or writes pages (`twin ui`, `twin runs report`) imports
    # the web stack, inside its own function.
    misplaced, in_commands = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(ROOT))
        for names, in_function, line in _imports_with_place(ast.parse(path.read_text("utf-8"))):
            if not any(n == f or n.startswith(f + ".") for n in names for f in WEB_STACK):
                continue
            if in_function and where.startswith("twin/cli/"):
                in_commands.add(where)
            else:
                misplaced.append(f"{where}:{line} imports {', '.join(names)}")
    assert misplaced == []
    assert in_commands >= {"twin/cli/main.py", "twin/cli/runs.py"}  # the check sees them


def test_only_the_modbus_adapter_imports_pymodbus():
    # pymodbus's API moves between minor versions (pinned ~=3.16): one module absorbs each
    # move, and the rest of twin speaks of tags, never of pymodbus's clients or datastores.
    importers = set()
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "web").rglob("*.py"))
    for path in files:
        for names, _, _ in _imports_with_place(ast.parse(path.read_text("utf-8"))):
            if any(n == "pymodbus" or n.startswith("pymodbus.") for n in names):
                importers.add(str(path.relative_to(ROOT)))
    assert importers == {"twin/control/modbus.py"}


def test_only_the_opcua_adapters_import_asyncua():
    # asyncua runs its own event loop and its server internals are subclassed for sessions,
    # writes and logins: that stays in twin.control's OPC UA modules, behind the synchronous
    # ControllerLink, and the rest of twin never meets a coroutine or a NodeId.
    importers = set()
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "web").rglob("*.py"))
    for path in files:
        for names, _, _ in _imports_with_place(ast.parse(path.read_text("utf-8"))):
            if any(n == "asyncua" or n.startswith("asyncua.") for n in names):
                importers.add(str(path.relative_to(ROOT)))
    assert importers <= {
        "twin/control/opcua.py",
        "twin/control/opcua_client.py",
        "twin/control/opcua_common.py",
    }
    assert "twin/control/opcua.py" in importers  # the check sees them
