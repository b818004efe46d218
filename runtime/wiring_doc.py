"""The tables of the docs that describe the wiring — which topics exist, who produces them,
which consumer groups read what (docs/events.md), which endpoints each service has and who may
call them (docs/api.md) — generated from the code so that they cannot drift.

``frontdesk contracts export`` rewrites the parts of those pages between the markers
``<!-- generated: NAME -->`` and ``<!-- end generated: NAME -->``; ``frontdesk contracts check``
(and a unit test) fails when they are out of date.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.registry import REGISTRY
from contracts.topics import SHARED, TOPICS
from runtime.export import export_router
from runtime.platform import SERVICES, definition_of
from runtime.service import UnstartedService, operations_router

DOCS = Path(__file__).parent.parent / "docs"
EVENTS_GUIDE = DOCS / "events.md"
API_GUIDE = DOCS / "api.md"
ARCHITECTURE_GUIDE = DOCS / "architecture.md"


def _codes(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names) or "none yet"


def topics_table() -> str:
    events: dict[str, list[str]] = {name: [] for name in TOPICS}
    for definition in REGISTRY.definitions():
        if definition.topic is not None:
            events[definition.topic.name].append(definition.event_type)
    rows = [
        "| topic | producer | stream type (key) | partitions | events | what |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in sorted(TOPICS):
        spec = TOPICS[name]
        producer = "every service" if spec.producer == SHARED else spec.producer
        key = f"`{spec.stream_type}` (`{spec.stream_type}-<id>`)"
        rows.append(
            f"| `{name}` | {producer} | {key} | {spec.partitions} | "
            f"{_codes(events[name])} | {spec.description} |"
        )
    rows.append(
        "| `frontdesk.deadletter.<group>` | the group's service | the original key | 1 | "
        "what the group could not process | see [Dead letters](#dead-letters) |"
    )
    return "\n".join(rows)


def consumer_groups_table() -> str:

    rows = [
        "| group | kind | topics | handles | read models | what |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for service in SERVICES:
        groups = UnstartedService(definition_of(service)).consumer_groups()
        for group in sorted(groups, key=lambda g: g.name):
            kind = "projection" if group.rebuildable else "reaction"
            topics = _codes(sorted(topic.name for topic in group.topics))
            handles = _codes(group.event_types)
            read_models = _codes(sorted(group.read_models)) if group.read_models else "—"
            what = " ".join(group.description.split())
            rows.append(
                f"| `{group.name}` | {kind} | {topics} | {handles} | {read_models} | {what} |"
            )
        rows.append(
            f"| `{service}.privacy` | reaction | `frontdesk.cases.data_subjects` | "
            "`cases.data_subject_erased` | — | Added by the runtime to every service: forgets the "
            "person's key (key store and cache) and redacts the service's read models. |"
        )
    return "\n".join(rows)


def _roles(dependant: Any) -> list[str]:
    """The roles ``runtime.auth.require_roles`` admits on a route, found in its dependencies."""
    found: list[str] = []
    for dependency in dependant.dependencies:
        found += getattr(dependency.call, "allowed_roles", ())
        found += _roles(dependency)
    return sorted(set(found))


def _admits_organizations(dependant: Any) -> bool:
    """Whether the route serves organizations' staff too (``require_roles(organizations=)``)."""
    return any(
        getattr(dependency.call, "admits_organizations", False) or _admits_organizations(dependency)
        for dependency in dependant.dependencies
    )


def endpoints_table() -> str:
    from fastapi.routing import APIRoute

    parts = []
    for service in SERVICES:
        definition = definition_of(service)
        rows = [
            f"### {service} (port {definition.default_port})",
            "",
            "| method and path | roles | what |",
            "| --- | --- | --- |",
        ]
        routers = [operations_router(), export_router(), *definition.routers]
        routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
        for route in sorted(routes, key=lambda r: (r.path, sorted(r.methods or ()))):
            roles = _roles(route.dependant)
            who = ", ".join(roles) if roles else "no token"
            if _admits_organizations(route.dependant):
                who += " (also an organization's staff)"
            methods = "/".join(sorted(route.methods or ()))
            summary = " ".join((route.summary or route.name.replace("_", " ")).split())
            rows.append(f"| `{methods} {route.path}` | {who} | {summary} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def _summary(path: Path) -> str:
    """The first sentence of a module's docstring (a package: of its __init__.py)."""
    source = path / "__init__.py" if path.is_dir() else path
    if not source.exists():
        return ""
    docstring = ast.get_docstring(ast.parse(source.read_text())) or ""
    first = " ".join(docstring.split("\n\n")[0].split())
    return first.replace("|", "\\|")


def _tree_rows(folder: Path, root: Path) -> list[str]:
    rows = []
    for path in sorted(folder.iterdir(), key=lambda p: (p.is_file(), p.name)):
        if path.name.startswith((".", "__pycache__")) or path.name == "__init__.py":
            continue
        if path.is_dir():
            if path.name == "migrations":
                count = len(list(path.glob("*.sql")))
                rows.append(
                    f"| `{path.relative_to(root)}/` | {count} SQL migrations, applied in order |"
                )
                continue
            rows.append(f"| `{path.relative_to(root)}/` | {_summary(path)} |")
            rows += _tree_rows(path, root)
        elif path.suffix == ".py":
            rows.append(f"| `{path.relative_to(root)}` | {_summary(path)} |")
    return rows


def layout_table() -> str:
    """Every service's tree, each module with the first sentence of its docstring."""
    root = DOCS.parent
    parts = []
    for service in SERVICES:
        rows = [f"#### services/{service}", "", "| path | what it holds |", "| --- | --- |"]
        rows += _tree_rows(root / "services" / service, root)
        parts.append("\n".join(rows))
    for shared in ("runtime", "contracts", "sandboxes"):
        rows = [f"#### {shared}", "", "| path | what it holds |", "| --- | --- |"]
        rows += _tree_rows(root / shared, root)
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


SECTIONS = {"topics": topics_table, "consumer-groups": consumer_groups_table}
ARCHITECTURE_SECTIONS = {"layout": layout_table}
API_SECTIONS = {"endpoints": endpoints_table}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated: {name} -->\n)(.*?)(<!-- end generated: {name} -->)", re.DOTALL
    )


def render_events_guide(text: str) -> str:
    """docs/events.md with every generated section rewritten from the code."""
    return _render(text, SECTIONS)


def render_api_guide(text: str) -> str:
    """docs/api.md with every generated section rewritten from the code."""
    return _render(text, API_SECTIONS)


def render_architecture_guide(text: str) -> str:
    """docs/architecture.md with its layout tables rewritten from the tree."""
    return _render(text, ARCHITECTURE_SECTIONS)


# every page with generated sections, and how to render it
GUIDES: dict[Path, Callable[[str], str]] = {
    EVENTS_GUIDE: render_events_guide,
    API_GUIDE: render_api_guide,
    ARCHITECTURE_GUIDE: render_architecture_guide,
}


def _render(text: str, sections: dict[str, Callable[[], str]]) -> str:
    for name, render in sections.items():
        pattern = _pattern(name)
        if not pattern.search(text):
            raise ValueError(f"no generated section {name!r} in the page")
        table = render()

        def replaced(match: re.Match[str], table: str = table) -> str:
            return f"{match.group(1)}{table}\n{match.group(3)}"

        text = pattern.sub(replaced, text)
    return text
