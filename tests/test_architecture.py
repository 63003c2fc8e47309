"""The import direction of docs/architecture.md, checked on every import statement in the package.

Function-level imports count too: a lazy import is still a dependency, only a cheaper one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "airflow_lineage_provider"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

#: the layers, lowest first; a module may import its own layer and the layers below it
LAYERS: dict[str, int] = {
    "__init__": 0,
    "exceptions": 0,
    "get_provider_info": 0,
    "_openlineage": 0,
    "selection": 0,
    "conf": 1,
    "sql": 2,
    "naming": 2,
    "quality": 2,
    "extractors": 3,
    "emission": 4,
    "listener": 5,
    "macros": 5,
    "child_jobs": 5,
    "plugins": 6,
}
#: Airflow-facing side branch: operators, triggers and hooks sit beside the flow, not in it
SIDE = {"operators", "triggers", "hooks"}
SIDE_MAY_IMPORT = {"__init__", "exceptions", "conf", "sql", "naming", "quality", "extractors.base", *SIDE}
#: command-line tools: may use anything but the listener and the plugin
TOOLS = {"cli", "graph"}
#: layers that must never import Airflow (pure, fast to test, reusable)
PURE = {"sql", "quality"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in ``path``; package-relative for our own modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                pytest.fail(f"{path}:{node.lineno}: relative import; the package uses absolute imports")
            if node.module == PACKAGE:  # from airflow_lineage_provider import conf, __version__
                for alias in node.names:
                    is_module = (ROOT / alias.name).is_dir() or (ROOT / f"{alias.name}.py").exists()
                    yield node.lineno, f"{PACKAGE}.{alias.name}" if is_module else PACKAGE
            else:
                yield node.lineno, node.module


def _own(target: str) -> str | None:
    if target == PACKAGE:
        return "__init__"
    if target.startswith(PACKAGE + "."):
        return target[len(PACKAGE) + 1 :]
    return None


def _layer(module: str) -> str:
    return module.split(".")[0]


MODULES = sorted((_module_name(path), path) for path in ROOT.rglob("*.py"))


def test_every_module_has_a_place():
    for module, _ in MODULES:
        top = _layer(module)
        assert top in LAYERS or top in SIDE or top in TOOLS, f"{module}: no layer"


def _violations(module: str, imports: list[tuple[int, str]]) -> list[str]:
    top = _layer(module)
    wrong = []
    for line, target in imports:
        if top in PURE and (target == "airflow" or target.startswith("airflow.")):
            wrong.append(f"line {line}: {module} is pure and imports {target}")
            continue
        own = _own(target)
        if own is None:
            continue
        dep = _layer(own)
        if dep in ("listener", "macros", "plugins") and not (module == "plugins" and dep != "plugins"):
            if top != dep:
                wrong.append(f"line {line}: nothing imports {dep}, but {module} imports {own}")
            continue
        if top in TOOLS:
            continue
        if top in SIDE:
            if own not in SIDE_MAY_IMPORT and dep not in SIDE_MAY_IMPORT:
                wrong.append(f"line {line}: {module} (operators/triggers/hooks) imports {own}")
            continue
        if dep in SIDE or dep in TOOLS:
            wrong.append(f"line {line}: {module} imports {own}, which sits outside the flow")
        elif LAYERS[dep] > LAYERS[top]:
            wrong.append(f"line {line}: {module} (layer {LAYERS[top]}) imports {own} (layer {LAYERS[dep]})")
    return wrong


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_down(module, path):
    wrong = _violations(module, list(_imports(path)))
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("module", "source", "complaint"),
    [
        ("extractors.sql", "from airflow_lineage_provider.emission.emitter import get_emitter", "layer 4"),
        ("sql.engine", "import airflow.sdk", "is pure"),
        ("quality.metrics", "from airflow.sdk import BaseHook", "is pure"),
        ("emission.events", "from airflow_lineage_provider import listener", "nothing imports listener"),
        ("listener", "from airflow_lineage_provider.macros import lineage_run_id", "nothing imports macros"),
        (
            "extractors.manual",
            "from airflow_lineage_provider.operators import quality_gate",
            "outside the flow",
        ),
        (
            "triggers.quality_gate",
            "from airflow_lineage_provider.emission import emitter",
            "operators/triggers",
        ),
    ],
)
def test_the_checker_reports_a_wrong_import(tmp_path, module, source, complaint):
    bad = tmp_path / "bad.py"
    bad.write_text(source + "\n", encoding="utf-8")
    wrong = _violations(module, list(_imports(bad)))
    assert len(wrong) == 1 and complaint in wrong[0], wrong
