"""Every request model is bounded (issue 12): walking each service's OpenAPI document, every
string a request body or query takes has a maximum length (or a fixed vocabulary, a format
its parser bounds, or a pattern without open repetition), every list a maximum of items,
every open object a maximum of entries, and every number a minimum and a maximum.

Path parameters and headers are left to the HTTP server, which bounds the request line and
the header block (uvicorn/h11: 16 KiB); the routes' path parameters are refused by their
own patterns beyond that."""

from __future__ import annotations

import re
from typing import Any

import pytest

from runtime.cli import SERVICES, definition_of
from runtime.service import create_app

pytestmark = pytest.mark.unit

BOUNDED_FORMATS = {"uuid", "date-time", "date", "time", "duration"}
_CLASS = re.compile(r"\[(?:\\.|[^\]\\])*\]")
_OPEN_REPEAT = re.compile(r"(?<!\\)[*+]|\{\d+,\}")


def bounded_pattern(pattern: str) -> bool:
    """A pattern anchored at both ends whose every repetition has an upper bound."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        return False
    return not _OPEN_REPEAT.search(_CLASS.sub("c", pattern))


def unbounded(document: dict[str, Any]) -> list[str]:
    components = document.get("components", {}).get("schemas", {})
    found: list[str] = []

    def walk(node: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], name, seen | {name})
            return
        for option in (*node.get("anyOf", ()), *node.get("oneOf", ()), *node.get("allOf", ())):
            walk(option, where, seen)
        if "enum" in node or "const" in node:
            return
        kind = node.get("type")
        if kind == "string":
            pattern = node.get("pattern")
            if not (
                "maxLength" in node
                or node.get("format") in BOUNDED_FORMATS
                or (pattern and bounded_pattern(pattern))
            ):
                found.append(f"{where}: a string without a maximum length")
        elif kind == "array":
            if "maxItems" not in node:
                found.append(f"{where}: a list without a maximum of items")
            walk(node.get("items", {}), f"{where}[]", seen)
        elif kind in ("integer", "number"):
            if not {"maximum", "exclusiveMaximum"} & node.keys():
                found.append(f"{where}: a number without a maximum")
            if not {"minimum", "exclusiveMinimum"} & node.keys():
                found.append(f"{where}: a number without a minimum")
        elif kind == "object" or "properties" in node:
            for name, child in node.get("properties", {}).items():
                walk(child, f"{where}.{name}", seen)
            extra = node.get("additionalProperties")
            if extra is True or isinstance(extra, dict):
                if "maxProperties" not in node:
                    found.append(f"{where}: an open object without a maximum of entries")
                if isinstance(extra, dict):
                    walk(extra, f"{where}{{}}", seen)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema", {}), f"{where} body", frozenset())
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") == "query":
                    walk(parameter.get("schema", {}), f"{where} ?{parameter['name']}", frozenset())
    return sorted(set(found))


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_field_has_an_upper_bound(service: str) -> None:
    document = create_app(definition_of(service)).openapi()
    assert unbounded(document) == []


@pytest.mark.parametrize(
    ("pattern", "bounded"),
    [
        (r"^[0-9*#]$", True),
        (r"^\+[1-9][0-9]{6,14}$", True),
        (r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", False),
        (r"^[a-z_]+:x$", False),
        (r"^[a-z]{2,}$", False),
        (r"[a-z]{2}", False),
    ],
)
def test_a_pattern_bounds_a_string_only_without_open_repetition(
    pattern: str, bounded: bool
) -> None:
    assert bounded_pattern(pattern) is bounded


def test_the_walker_finds_an_unbounded_skill() -> None:
    document = {
        "paths": {"/agents": {"put": {"requestBody": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Profile"}}}}}}},
        "components": {"schemas": {"Profile": {"type": "object", "properties": {
            "skills": {"type": "array", "maxItems": 20, "items": {"type": "string"}},
            "minutes": {"type": "number", "minimum": 0},
        }}}},
    }  # fmt: skip
    assert unbounded(document) == [
        "Profile.minutes: a number without a maximum",
        "Profile.skills[]: a string without a maximum length",
    ]


def test_an_agents_skill_is_a_bounded_word() -> None:
    from pydantic import ValidationError

    from services.checkin.api.agents import ProfileRequest

    profile = {"queues": ["general"], "languages": [{"tag": "en"}]}
    ProfileRequest.model_validate({**profile, "specialist_skills": ["minors_refunds"]})
    for skill in ("x" * 1_000_000, "", "Has Space", "a\u0000b"):
        with pytest.raises(ValidationError):
            ProfileRequest.model_validate({**profile, "specialist_skills": [skill]})


def test_assignment_rules_are_bounded_when_written_and_read_as_written() -> None:
    from pydantic import ValidationError

    from contracts.events.checkin_sites import AssignmentRule, QueueSettings
    from contracts.fields import STORED

    rules = ["round_robin"] * (len(AssignmentRule) + 1)
    with pytest.raises(ValidationError, match="entries"):
        QueueSettings.model_validate({"queue": "general", "assignment_rules": rules})
    stored = QueueSettings.model_validate(
        {"queue": "general", "assignment_rules": rules}, context=STORED
    )
    assert stored.assignment_rules == rules
