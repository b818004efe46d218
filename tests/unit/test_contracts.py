"""The published contracts: committed schemas, samples of every version, envelope, catalogue."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts import REGISTRY, Envelope, UnknownEventType, personal_fields
from contracts.catalog import (
    EVENTS_DOC,
    SCHEMA_DIR,
    all_schemas,
    compatibility_problems,
    schema_filename,
)
from contracts.events.checkin import Intake, IntakeV1, TicketIssued, TicketIssuedV1
from contracts.vocabulary import LanguagePreference
from runtime.cli import contract_drift

pytestmark = pytest.mark.unit

SAMPLE_DIR = SCHEMA_DIR.parent / "samples"
ENVELOPE_SCHEMA = "envelope.v1.json"
EXPORT_HINT = "run `.venv/bin/frontdesk contracts export`"


def _parse_schema_name(name: str) -> tuple[str, int]:
    event_type, version = name.removesuffix(".json").rsplit(".v", 1)
    return event_type, int(version)


COMMITTED: list[tuple[str, int]] = sorted(
    _parse_schema_name(path.name)
    for path in SCHEMA_DIR.glob("*.json")
    if path.name != ENVELOPE_SCHEMA
)
COMMITTED_IDS = [f"{event_type}.v{version}" for event_type, version in COMMITTED]


def _sample(event_type: str, version: int) -> dict[str, Any]:
    path = SAMPLE_DIR / schema_filename(event_type, version)
    sample = json.loads(path.read_text())
    assert isinstance(sample, dict), f"{path.name}: a sample is one JSON object (no envelope)"
    return sample


# -- committed schemas ------------------------------------------------------------------------


def test_committed_schemas_were_found() -> None:
    # Guards the parametrized tests below against silently running zero cases.
    assert ("checkin.ticket_issued", 1) in COMMITTED
    assert ("checkin.ticket_issued", 2) in COMMITTED
    assert (SCHEMA_DIR / ENVELOPE_SCHEMA).exists()


def test_every_registered_event_version_has_a_committed_schema() -> None:
    missing = [
        schema_filename(definition.event_type, version)
        for definition in REGISTRY.definitions()
        for version in definition.versions
        if not (SCHEMA_DIR / schema_filename(definition.event_type, version)).exists()
    ]
    assert missing == [], f"schemas not committed: {missing}; {EXPORT_HINT}"
    assert set(all_schemas()) == {path.name for path in SCHEMA_DIR.glob("*.json")}


def test_models_match_the_committed_schemas_and_events_doc() -> None:
    drift = contract_drift()
    assert drift == [], f"contracts drifted from the models ({EXPORT_HINT}):\n" + "\n".join(drift)


def test_registry_is_complete() -> None:
    assert REGISTRY.check_complete() == []


# -- replay every committed version -----------------------------------------------------------


@pytest.mark.parametrize(("event_type", "version"), COMMITTED, ids=COMMITTED_IDS)
def test_every_committed_version_has_a_sample(event_type: str, version: int) -> None:
    path = SAMPLE_DIR / schema_filename(event_type, version)
    assert path.exists(), f"add a realistic example payload as contracts/samples/{path.name}"


@pytest.mark.parametrize(("event_type", "version"), COMMITTED, ids=COMMITTED_IDS)
def test_sample_is_a_complete_canonical_payload_of_its_version(
    event_type: str, version: int
) -> None:
    sample = _sample(event_type, version)
    model = REGISTRY.definition(event_type).versions[version]
    payload = model.model_validate(sample)
    # Models ignore unknown fields, so a misspelled key would vanish silently: the sample must
    # survive a round trip unchanged (every field spelled out, in its serialized form).
    assert payload.model_dump(mode="json") == sample


@pytest.mark.parametrize(("event_type", "version"), COMMITTED, ids=COMMITTED_IDS)
def test_the_data_subject_read_along_its_path_is_the_one_the_dump_names(
    event_type: str, version: int
) -> None:
    """``data_subject_id`` reads the subject along its path instead of dumping the payload;
    it names whom ``data_subject_of`` names in the payload's JSON form, with the path's value
    present and absent."""
    model = REGISTRY.definition(event_type).versions[version]
    payload = model.model_validate(_sample(event_type, version))
    assert payload.data_subject_id == model.data_subject_of(payload.model_dump(mode="json"))
    if model.data_subject is not None:
        first = model.data_subject[1].split(".")[0]
        if model.model_fields[first].is_required():
            return
        absent = payload.model_copy(update={first: None})
        assert absent.data_subject_id == model.data_subject_of(absent.model_dump(mode="json"))


@pytest.mark.parametrize(("event_type", "version"), COMMITTED, ids=COMMITTED_IDS)
def test_sample_matches_the_committed_schema_file(event_type: str, version: int) -> None:
    schema = json.loads((SCHEMA_DIR / schema_filename(event_type, version)).read_text())
    sample = _sample(event_type, version)
    assert schema["x-event-type"] == event_type
    assert schema["x-schema-version"] == version
    assert set(schema.get("required", [])) <= set(sample)
    assert set(sample) <= set(schema["properties"])


@pytest.mark.parametrize(("event_type", "version"), COMMITTED, ids=COMMITTED_IDS)
def test_every_committed_version_replays_as_the_current_model(
    event_type: str, version: int
) -> None:
    definition = REGISTRY.definition(event_type)
    sample = _sample(event_type, version)
    original = copy.deepcopy(sample)

    decoded = REGISTRY.decode(event_type, version, sample)

    assert type(decoded) is definition.current
    assert decoded.schema_version == definition.current_version
    assert sample == original, "decoding must not mutate the stored payload"


def test_ticket_issued_v1_upcasts_the_language_to_a_tag_without_dialect() -> None:
    sample = _sample("checkin.ticket_issued", 1)
    v1 = TicketIssuedV1.model_validate(sample)

    decoded = REGISTRY.decode("checkin.ticket_issued", 1, sample)

    assert isinstance(decoded, TicketIssued)
    assert isinstance(decoded.intake, Intake)
    assert decoded.intake.language == LanguagePreference(tag=v1.intake.language, dialect=None)
    assert decoded.intake.language.dialect is None
    # everything but the language is carried over untouched (v2's newer optional fields aside)
    expected = v1.model_dump(mode="json")
    del expected["intake"]["language"]
    rest = {k: v for k, v in decoded.model_dump(mode="json").items() if k in expected}
    rest["intake"] = {k: v for k, v in rest["intake"].items() if k in expected["intake"]}
    assert rest == expected


def test_ticket_issued_v1_and_v2_are_incompatible_which_is_why_v2_exists() -> None:
    v1 = json.loads((SCHEMA_DIR / "checkin.ticket_issued.v1.json").read_text())
    v2 = json.loads((SCHEMA_DIR / "checkin.ticket_issued.v2.json").read_text())
    assert compatibility_problems(v1, v2) == ["intake.language: type changed"]


@pytest.mark.parametrize(("event_type", "version"), COMMITTED, ids=COMMITTED_IDS)
def test_consumers_tolerate_unknown_fields(event_type: str, version: int) -> None:
    sample = _sample(event_type, version)
    extended = {**copy.deepcopy(sample), "field_from_the_future": {"anything": [1, 2, 3]}}
    if "intake" in extended:
        extended["intake"]["another_future_field"] = "ignored"

    assert REGISTRY.decode(event_type, version, extended) == REGISTRY.decode(
        event_type, version, sample
    )


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(UnknownEventType, match=r"checkin\.ticket_teleported"):
        REGISTRY.decode("checkin.ticket_teleported", 1, {})


@pytest.mark.parametrize("version", [0, 3, 99])
def test_an_unknown_version_is_refused(version: int) -> None:
    sample = _sample("checkin.ticket_issued", 2)
    with pytest.raises(UnknownEventType, match=f"no version {version}"):
        REGISTRY.decode("checkin.ticket_issued", version, sample)


def test_a_payload_that_breaks_its_version_is_a_validation_error() -> None:
    sample = _sample("checkin.ticket_called", 1)
    del sample["desk_id"]
    with pytest.raises(ValidationError, match="desk_id"):
        REGISTRY.decode("checkin.ticket_called", 1, sample)


# -- envelope ---------------------------------------------------------------------------------


def _envelope(**overrides: Any) -> Envelope:
    fields: dict[str, Any] = {
        "event_id": uuid4(),
        "event_type": "checkin.ticket_issued",
        "schema_version": 2,
        "occurred_at": datetime(2025, 3, 14, 1, 30, tzinfo=UTC),
        "stream_type": "ticket",
        "stream_id": "3f2a9c4e-8b1d-4e6f-9a7c-2d5e8f1b3c60",
        "stream_version": 1,
        "correlation_id": uuid4(),
        "causation_id": uuid4(),
        "producer": "checkin",
        "actor": {"id": "agent-demo-042", "role": "agent"},
        "trace": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        "payload": _sample("checkin.ticket_issued", 2),
    }
    fields.update(overrides)
    return Envelope.model_validate(fields)


def test_envelope_round_trips_through_bytes() -> None:
    envelope = _envelope()
    raw = envelope.to_bytes()
    assert isinstance(raw, bytes)
    assert Envelope.from_bytes(raw) == envelope
    assert json.loads(raw)["payload"] == _sample("checkin.ticket_issued", 2)


def test_envelope_tolerates_unknown_fields() -> None:
    raw = _envelope().to_bytes()
    extended = {**json.loads(raw), "added_by_a_newer_producer": True}
    assert Envelope.from_bytes(json.dumps(extended).encode()) == Envelope.from_bytes(raw)


@pytest.mark.parametrize(
    "event_type",
    ["ticket_issued", "Checkin.ticket_issued", "checkin.ticket-issued", "checkin.", "a.b.c", ""],
)
def test_envelope_rejects_a_malformed_event_type(event_type: str) -> None:
    with pytest.raises(ValidationError, match="event_type"):
        _envelope(event_type=event_type)


def test_envelope_normalizes_occurred_at_to_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    envelope = _envelope(occurred_at=datetime(2025, 3, 14, 9, 30, tzinfo=beijing))
    assert envelope.occurred_at.utcoffset() == timedelta(0)
    assert envelope.occurred_at == datetime(2025, 3, 14, 1, 30, tzinfo=UTC)
    assert json.loads(envelope.to_bytes())["occurred_at"] == "2025-03-14T01:30:00Z"


def test_envelope_refuses_a_naive_occurred_at() -> None:
    with pytest.raises(ValidationError, match="occurred_at"):
        _envelope(occurred_at=datetime(2025, 3, 14, 9, 30))


# -- personal data ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [TicketIssued, TicketIssuedV1])
def test_ticket_issued_lists_its_personal_fields(model: type) -> None:
    assert personal_fields(model) == ["intake.contact_phone", "intake.description"]


def test_events_without_personal_data_list_none() -> None:
    called = REGISTRY.definition("checkin.ticket_called").current
    assert personal_fields(called) == []


def _table_cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_events_doc_marks_the_personal_fields_of_ticket_issued() -> None:
    doc = EVENTS_DOC.read_text()
    section = doc.split("## `checkin.ticket_issued`", 1)[1].split("\n## ", 1)[0]
    assert "- personal data: intake.contact_phone, intake.description" in section

    intake_table = section.split("`Intake`:", 1)[1].split("\n\n", 2)[1]
    personal_column = {
        cells[0].strip("`"): cells[3]
        for cells in map(_table_cells, intake_table.splitlines())
        if cells and cells[0].startswith("`")
    }
    assert personal_column["contact_phone"] == "yes"
    assert personal_column["description"] == "yes"
    assert personal_column["account_ref"] == ""
    assert personal_column["language"] == ""


def test_intake_models_of_both_versions_mark_the_same_fields() -> None:
    assert (
        personal_fields(IntakeV1)
        == personal_fields(Intake)
        == [
            "contact_phone",
            "description",
        ]
    )


# -- compatibility rules ----------------------------------------------------------------------

BASE_SCHEMA: dict[str, Any] = {
    "$defs": {
        "Status": {"enum": ["waiting", "called", "left"], "title": "Status", "type": "string"},
        "Intake": {
            "properties": {
                "account_ref": {"type": "string", "description": "Opaque account id."},
                "language": {"type": "string"},
                "description": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "x-personal-data": True,
                },
            },
            "required": ["account_ref", "language"],
            "type": "object",
        },
        "ActingFor": {
            "properties": {"relationship": {"type": "string"}, "holder": {"type": "string"}},
            "required": ["relationship", "holder"],
            "type": "object",
        },
    },
    "properties": {
        "ticket_id": {"format": "uuid", "type": "string"},
        "status": {"$ref": "#/$defs/Status"},
        "phone": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "default": None,
            "description": "Contact phone in E.164.",
            "x-personal-data": True,
        },
        "note": {"type": "string", "description": "Old wording."},
        "intake": {"$ref": "#/$defs/Intake"},
        "acting_for": {"anyOf": [{"$ref": "#/$defs/ActingFor"}, {"type": "null"}]},
        "needs": {"items": {"type": "string"}, "type": "array"},
        "variables": {"additionalProperties": {"type": "string"}, "type": "object"},
    },
    "required": ["ticket_id", "status", "intake"],
    "type": "object",
}


def _remove_note(s: dict[str, Any]) -> None:
    del s["properties"]["note"]


def _retype_ticket_id(s: dict[str, Any]) -> None:
    s["properties"]["ticket_id"] = {"type": "integer"}


def _drop_uuid_format(s: dict[str, Any]) -> None:
    del s["properties"]["ticket_id"]["format"]


def _retype_array_items(s: dict[str, Any]) -> None:
    s["properties"]["needs"]["items"] = {"type": "integer"}


def _add_required_field(s: dict[str, Any]) -> None:
    s["properties"]["site_id"] = {"type": "string"}
    s["required"].append("site_id")


def _make_optional_field_required(s: dict[str, Any]) -> None:
    s["required"].append("note")


def _remove_enum_value(s: dict[str, Any]) -> None:
    s["$defs"]["Status"]["enum"].remove("left")


def _enum_to_plain_string(s: dict[str, Any]) -> None:
    s["properties"]["status"] = {"type": "string"}


def _phone_no_longer_personal(s: dict[str, Any]) -> None:
    del s["properties"]["phone"]["x-personal-data"]


def _nested_field_removed(s: dict[str, Any]) -> None:
    del s["$defs"]["Intake"]["properties"]["account_ref"]
    s["$defs"]["Intake"]["required"].remove("account_ref")


def _nested_field_retyped(s: dict[str, Any]) -> None:
    s["$defs"]["LanguagePreference"] = {
        "properties": {"tag": {"type": "string"}},
        "required": ["tag"],
        "type": "object",
    }
    s["$defs"]["Intake"]["properties"]["language"] = {"$ref": "#/$defs/LanguagePreference"}


def _nested_field_became_required(s: dict[str, Any]) -> None:
    s["$defs"]["Intake"]["properties"]["channel"] = {"type": "string"}
    s["$defs"]["Intake"]["required"].append("channel")


def _nested_field_no_longer_personal(s: dict[str, Any]) -> None:
    del s["$defs"]["Intake"]["properties"]["description"]["x-personal-data"]


def _nested_optional_object_changed(s: dict[str, Any]) -> None:
    del s["$defs"]["ActingFor"]["properties"]["holder"]
    s["$defs"]["ActingFor"]["required"].remove("holder")


def _add_optional_field(s: dict[str, Any]) -> None:
    s["properties"]["channel"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }


def _add_optional_nested_field(s: dict[str, Any]) -> None:
    s["$defs"]["Intake"]["properties"]["accessibility"] = {"type": "string"}


def _change_docs(s: dict[str, Any]) -> None:
    s["description"] = "A brand new explanation."
    s["properties"]["note"]["description"] = "New wording."
    s["properties"]["note"]["title"] = "Note"
    s["properties"]["note"]["examples"] = ["hello"]
    s["$defs"]["Intake"]["properties"]["account_ref"]["description"] = "Still opaque."


def _mark_a_field_personal(s: dict[str, Any]) -> None:
    s["properties"]["note"]["x-personal-data"] = True


def _add_enum_value(s: dict[str, Any]) -> None:
    s["$defs"]["Status"]["enum"].append("parked")


def _add_enum_value_in_a_list(s: dict[str, Any]) -> None:
    s["properties"]["needs"] = {"items": {"$ref": "#/$defs/Status"}, "type": "array"}


def _retype_map_values(s: dict[str, Any]) -> None:
    s["properties"]["variables"]["additionalProperties"] = {"type": "integer"}


COMPATIBILITY_CASES = [
    pytest.param(_add_enum_value, ["status: enum values added ['parked']"], id="added-enum-value"),
    pytest.param(_retype_map_values, ["variables: type changed"], id="retyped-map-values"),
    pytest.param(_remove_note, ["note: removed"], id="removed-field"),
    pytest.param(_retype_ticket_id, ["ticket_id: type changed"], id="retyped-field"),
    pytest.param(_drop_uuid_format, ["ticket_id: type changed"], id="changed-format"),
    pytest.param(_retype_array_items, ["needs: type changed"], id="retyped-array-items"),
    pytest.param(_add_required_field, ["site_id: became required"], id="new-required-field"),
    pytest.param(
        _make_optional_field_required, ["note: became required"], id="optional-became-required"
    ),
    pytest.param(
        _remove_enum_value, ["status: enum values removed ['left']"], id="removed-enum-value"
    ),
    pytest.param(_enum_to_plain_string, ["status: type changed"], id="enum-became-string"),
    pytest.param(
        _phone_no_longer_personal,
        ["phone: no longer marked as personal data"],
        id="no-longer-personal",
    ),
    pytest.param(_nested_field_removed, ["intake.account_ref: removed"], id="nested-removed"),
    pytest.param(_nested_field_retyped, ["intake.language: type changed"], id="nested-retyped"),
    pytest.param(
        _nested_field_became_required,
        ["intake.channel: became required"],
        id="nested-required",
    ),
    pytest.param(
        _nested_field_no_longer_personal,
        ["intake.description: no longer marked as personal data"],
        id="nested-no-longer-personal",
    ),
    pytest.param(
        _nested_optional_object_changed,
        ["acting_for.holder: removed"],
        id="nested-through-anyof",
    ),
    pytest.param(_add_optional_field, [], id="new-optional-field"),
    pytest.param(_add_optional_nested_field, [], id="new-optional-nested-field"),
    pytest.param(_change_docs, [], id="changed-descriptions"),
    pytest.param(_mark_a_field_personal, [], id="newly-personal"),
    pytest.param(lambda s: None, [], id="unchanged"),
]


@pytest.mark.parametrize(("change", "expected"), COMPATIBILITY_CASES)
def test_compatibility_problems(change: Any, expected: list[str]) -> None:
    old = copy.deepcopy(BASE_SCHEMA)
    new = copy.deepcopy(BASE_SCHEMA)
    change(new)
    assert compatibility_problems(old, new) == expected
    assert old == BASE_SCHEMA, "compatibility_problems must not modify its inputs"


@pytest.mark.parametrize(
    "name", sorted(path.name for path in SCHEMA_DIR.glob("*.json")), ids=lambda name: name
)
def test_every_committed_schema_is_compatible_with_itself(name: str) -> None:
    schema = json.loads(Path(SCHEMA_DIR / name).read_text())
    assert compatibility_problems(schema, copy.deepcopy(schema)) == []


@pytest.mark.parametrize(
    ("stored", "tag"),
    [("zh-CN", "zh-CN"), ("zh_CN", "zh-CN"), (" en ", "en"), ("Chinese", "und"), ("", "und")],
)
def test_v1_languages_that_are_no_bcp47_tag_still_replay(stored: str, tag: str) -> None:
    sample = json.loads((SAMPLE_DIR / "checkin.ticket_issued.v1.json").read_text())
    sample["intake"]["language"] = stored
    decoded = REGISTRY.decode("checkin.ticket_issued", 1, sample)
    assert isinstance(decoded, TicketIssued)
    assert decoded.intake.language.tag == tag
