"""The shape of the code itself: no import circles, domains free of I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "runtime", "services", "sandboxes")

pytestmark = pytest.mark.unit


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _typing_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes inside ``if TYPE_CHECKING:`` blocks: they never run."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(inner) for inner in ast.walk(node)}
    return skipped


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Every project module ``module`` imports when it runs, wherever the import stands
    (module level or function bodies: a deferred import is a circle all the same); imports
    for type checkers only (``if TYPE_CHECKING:``) never run and are left out."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    typing_only = _typing_only(tree)
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _is_package_of(parent: str, child: str) -> bool:
    return child.startswith(parent + ".")


def test_no_module_imports_itself_back_through_others() -> None:
    modules = _modules()
    known = set(modules)
    graph = {
        name: {
            target
            for target in _imports(path, name, known)
            # a package's __init__ importing its own submodules is how packages work
            if not _is_package_of(name, target) and not _is_package_of(target, name)
        }
        for name, path in modules.items()
    }
    circles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                circles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


ALLOWED_IN_DOMAINS = (
    "contracts",
    "runtime.aggregate",
    "runtime.errors",
    "runtime.organizations",  # the pure rule require_verified (organizations' contact centres)
    "services",
)
FORBIDDEN_IN_DOMAINS = ("asyncpg", "fastapi", "httpx", "opentelemetry", "aiokafka", "faststream")


def test_domains_do_no_io() -> None:
    """Every business rule lives in a pure ``decide``: the domain packages import no driver,
    no web framework, no telemetry, and of the runtime only the aggregate and the errors."""
    offending = []
    for path in sorted((ROOT / "services").glob("*/domain/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in FORBIDDEN_IN_DOMAINS or (
                    top == "runtime" and not name.startswith(ALLOWED_IN_DOMAINS)
                ):
                    offending.append(f"{path.relative_to(ROOT)}: {name}")
                if top == "services" and f"services/{name.split('.')[1]}/" not in str(path):
                    offending.append(f"{path.relative_to(ROOT)}: another service's {name}")
    assert not offending, "\n".join(offending)
