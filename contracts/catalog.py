"""The published catalogue of contracts: JSON Schemas, compatibility rules, EVENTS.md.

``frontdesk contracts export`` writes ``contracts/schemas/*.json`` and ``contracts/EVENTS.md``;
tests compare them with the models so that an incompatible change cannot slip in unversioned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.base import PERSONAL_DATA_KEY, EventPayload, personal_fields
from contracts.envelope import Envelope
from contracts.registry import REGISTRY, EventRegistry

SCHEMA_DIR = Path(__file__).parent / "schemas"
EVENTS_DOC = Path(__file__).parent / "EVENTS.md"


def schema_filename(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}.json"


def payload_schema(model: type[EventPayload]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = f"frontdesk:{model.event_type}:v{model.schema_version}"
    schema["x-event-type"] = model.event_type
    schema["x-schema-version"] = model.schema_version
    return schema


def all_schemas(registry: EventRegistry = REGISTRY) -> dict[str, dict[str, Any]]:
    schemas = {"envelope.v1.json": Envelope.model_json_schema(mode="serialization")}
    for definition in registry.definitions():
        for version, model in sorted(definition.versions.items()):
            schemas[schema_filename(definition.event_type, version)] = payload_schema(model)
    return schemas


def dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- compatibility --------------------------------------------------------------------------


def _resolve(schema: dict[str, Any], node: Any) -> dict[str, Any]:
    if not isinstance(node, dict):  # `true` / `false` schemas (e.g. dict[str, Any] values)
        return {"x-any": node}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
    return node


def _shape(schema: dict[str, Any], node: dict[str, Any], depth: int = 0) -> Any:
    """A comparable description of a node's type, ignoring titles, docs and examples."""
    node = _resolve(schema, node)
    if depth > 20:
        return "…"
    if "anyOf" in node:
        return ("anyOf", sorted(repr(_shape(schema, n, depth + 1)) for n in node["anyOf"]))
    if "enum" in node:
        return ("enum",)  # its values are compared on their own (see _enum_values)
    kind = node.get("type")
    if kind == "object" and "properties" in node:
        return ("object",)
    if kind == "object":
        return ("map", _shape(schema, node.get("additionalProperties", {}), depth + 1))
    if kind == "array":
        return ("array", _shape(schema, node.get("items", {}), depth + 1))
    return (kind, node.get("format"))


def _enum_values(schema: dict[str, Any], node: dict[str, Any], depth: int = 0) -> set[str]:
    """Every enum value a node admits, through $ref, anyOf, array items and map values."""
    node = _resolve(schema, node)
    if depth > 20:
        return set()
    values = set(map(str, node.get("enum", ())))
    for option in node.get("anyOf", ()):
        values |= _enum_values(schema, option, depth + 1)
    for child in ("items", "additionalProperties"):
        if isinstance(node.get(child), dict):
            values |= _enum_values(schema, node[child], depth + 1)
    return values


def compatibility_problems(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why ``new`` cannot replace ``old`` under the same version (empty: compatible).

    Incompatible: a removed field, a retyped field, a new required field, an enum value removed
    or added (readers of this version validate enums strictly and would dead-letter a value
    they do not know), a field that stopped being personal data. Compatible: new optional
    fields, new docs, a field newly marked personal.
    """
    problems: list[str] = []

    def walk(old_node: dict[str, Any], new_node: dict[str, Any], path: str) -> None:
        old_node, new_node = _resolve(old, old_node), _resolve(new, new_node)
        old_props = old_node.get("properties", {})
        new_props = new_node.get("properties", {})
        for name in old_props:
            if name not in new_props:
                problems.append(f"{path}{name}: removed")
        for name in set(new_node.get("required", [])) - set(old_node.get("required", [])):
            problems.append(f"{path}{name}: became required")
        for name, old_prop in old_props.items():
            if name not in new_props:
                continue
            new_prop = new_props[name]
            if old_prop.get(PERSONAL_DATA_KEY) and not new_prop.get(PERSONAL_DATA_KEY):
                problems.append(f"{path}{name}: no longer marked as personal data")
            old_values, new_values = _enum_values(old, old_prop), _enum_values(new, new_prop)
            if old_values and new_values:
                if removed := old_values - new_values:
                    problems.append(f"{path}{name}: enum values removed {sorted(removed)}")
                if added := new_values - old_values:
                    problems.append(f"{path}{name}: enum values added {sorted(added)}")
            if _shape(old, old_prop) != _shape(new, new_prop):
                problems.append(f"{path}{name}: type changed")
                continue
            nested_old = _object_nodes(old, old_prop)
            nested_new = _object_nodes(new, new_prop)
            for old_child, new_child in zip(nested_old, nested_new, strict=False):
                walk(old_child, new_child, f"{path}{name}.")

    walk(old, new, "")
    return problems


def _object_nodes(schema: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(schema, node)
    if "properties" in node:
        return [node]
    if node.get("type") == "array":
        return _object_nodes(schema, node.get("items", {}))
    found: list[dict[str, Any]] = []
    for option in node.get("anyOf", []):
        found.extend(_object_nodes(schema, option))
    return found


# -- documentation --------------------------------------------------------------------------


def _type_label(schema: dict[str, Any], node: dict[str, Any]) -> str:
    ref = node.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    if "anyOf" in node:
        return " \\| ".join(_type_label(schema, option) for option in node["anyOf"])
    if node.get("type") == "array":
        return f"list[{_type_label(schema, node.get('items', {}))}]"
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    kind = str(node.get("type", "any"))
    return f"{kind} ({node['format']})" if "format" in node else kind


def _field_rows(schema: dict[str, Any], node: dict[str, Any]) -> list[str]:
    required = set(node.get("required", []))
    rows = []
    for name, prop in node.get("properties", {}).items():
        personal = "yes" if prop.get(PERSONAL_DATA_KEY) else ""
        description = (prop.get("description") or "").replace("\n", " ")
        flag = "yes" if name in required else ""
        label = _type_label(schema, prop)
        rows.append(f"| `{name}` | {label} | {flag} | {personal} | {description} |")
    return rows


def render_events_doc(registry: EventRegistry = REGISTRY) -> str:
    lines = [
        "# Event catalogue",
        "",
        "Generated by `frontdesk contracts export` from the models in `contracts/events/`; do",
        "not edit by hand. Every event travels in the envelope described in",
        "[docs/events.md](../docs/events.md); the JSON Schemas are in `contracts/schemas/`.",
        "Fields marked *personal* are personal data (see the privacy notes in docs/events.md).",
        "",
    ]
    for definition in registry.definitions():
        model = definition.current
        topic = definition.topic
        assert topic is not None
        schema = payload_schema(model)
        doc = " ".join((model.__doc__ or "").split())
        lines += [
            f"## `{definition.event_type}` (v{definition.current_version})",
            "",
            doc,
            "",
            f"- topic: `{topic.name}` (key: the stream id, `{topic.stream_type}-<uuid>`), "
            f"producer: `{topic.producer}`",
            f"- versions: {', '.join(f'v{v}' for v in sorted(definition.versions))}"
            + (" (older versions are upcast when read)" if len(definition.versions) > 1 else ""),
            f"- personal data: {', '.join(personal_fields(model)) or 'none'}",
            "",
            "| field | type | required | personal | description |",
            "| --- | --- | --- | --- | --- |",
            *_field_rows(schema, schema),
            "",
        ]
        for name, sub in sorted(schema.get("$defs", {}).items()):
            if "properties" not in sub:
                continue
            lines += [
                f"`{name}`:",
                "",
                "| field | type | required | personal | description |",
                "| --- | --- | --- | --- | --- |",
                *_field_rows(schema, sub),
                "",
            ]
    return "\n".join(lines)
