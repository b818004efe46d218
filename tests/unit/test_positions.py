"""runtime.positions: the Frontdesk-Written / Frontdesk-After values."""

from __future__ import annotations

import pytest

from runtime.positions import MAX_POSITIONS, InvalidPosition, Position, header_value, parse

pytestmark = pytest.mark.unit


def test_written_names_the_latest_version_of_each_stream_and_after_reads_it_back() -> None:
    written = [
        Position("frontdesk.cases.cases", "case-1", 1),
        Position("frontdesk.cases.cases", "case-1", 3),
        Position("frontdesk.checkin.tickets", "ticket-9", 2),
    ]
    value = header_value(written)
    assert value == "frontdesk.cases.cases/case-1@3, frontdesk.checkin.tickets/ticket-9@2"
    assert parse(value) == [written[1], written[2]]


@pytest.mark.parametrize(
    "value",
    [
        "case-1@3",  # no topic
        "frontdesk.cases.cases/case-1",  # no version
        "frontdesk.cases.cases/case-1@0",
        "frontdesk.cases.cases/case 1@2",
        "Frontdesk.Cases/case-1@2",
        "frontdesk.cases.cases/case-1@99999999999999999999",
    ],
)
def test_anything_else_is_refused_by_name(value: str) -> None:
    with pytest.raises(InvalidPosition, match="Frontdesk-After"):
        parse(value)


def test_a_bounded_number_of_positions() -> None:
    many = ", ".join(f"t.x/s-{n}@1" for n in range(MAX_POSITIONS + 1))
    with pytest.raises(InvalidPosition, match=f"at most {MAX_POSITIONS}"):
        parse(many)
    assert parse(" , ") == []
