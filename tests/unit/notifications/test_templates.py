# ruff: noqa: RUF001  (Chinese text uses full-width punctuation)
"""Templates per message kind in five languages, with fallback and validated variables."""

from __future__ import annotations

import pytest

from contracts.events.notifications import NotificationKind
from services.notifications.domain.labels import Labels
from services.notifications.domain.templates import (
    LANGUAGES,
    TEMPLATES,
    TemplateError,
    Var,
    render,
    resolve_language,
)

pytestmark = pytest.mark.unit

EXAMPLES = {
    Var.TEXT: "A017",
    Var.INT: "3",
    Var.TIME: "2026-11-24T01:00:00+00:00",
    Var.URL: "https://frontdesk.example/t/1",
}


def full_variables(kind: NotificationKind) -> dict[str, str]:
    return {
        name: next(iter(var.by_code)) if isinstance(var, Labels) else EXAMPLES[var]
        for name, var in TEMPLATES[kind].variables.items()
    }


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_has_a_template(kind: NotificationKind) -> None:
    assert set(TEMPLATES[kind].texts) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_renders_in_every_language(kind: NotificationKind, language: str) -> None:
    rendered = render(kind, language, full_variables(kind), "Asia/Shanghai")
    assert rendered.language == language
    assert rendered.body
    assert "{" not in rendered.body
    assert "}" not in rendered.body


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("zh-CN", "zh-CN"),
        ("ZH-cn", "zh-CN"),
        ("zh-HK", "zh-CN"),
        ("zh", "zh-CN"),
        ("fr-CA", "fr"),
        ("de-AT", "de"),
        ("ja-JP", "ja"),
        ("en-GB", "en"),
        ("pt-BR", "en"),
        ("und", "en"),
    ],
)
def test_the_language_falls_back_to_the_same_language_then_english(tag: str, language: str) -> None:
    assert resolve_language(tag) == language


def test_times_are_shown_in_the_persons_timezone_and_language() -> None:
    variables = {
        "window_start": "2026-11-24T01:00:00+00:00",
        "window_end": "2026-11-24T03:00:00Z",
    }
    zh = render(NotificationKind.CALLBACK_SCHEDULED, "zh-CN", variables, "Asia/Shanghai")
    assert "11月24日 09:00" in zh.body
    assert "11月24日 11:00" in zh.body
    de = render(NotificationKind.CALLBACK_SCHEDULED, "de", variables, "Europe/Berlin")
    assert "24. Nov. 02:00" in de.body
    fr = render(NotificationKind.CALLBACK_SCHEDULED, "fr", variables, "America/Montreal")
    assert "23 nov. 20:00" in fr.body


def test_optional_pieces_appear_only_when_given() -> None:
    bare = render(NotificationKind.TICKET_ISSUED, "en", {"number": "A017"})
    assert bare.body == "Your number is A017."
    full = render(
        NotificationKind.TICKET_ISSUED,
        "en",
        {"number": "A017", "ahead": "4", "wait_minutes": "25", "link": "https://f.example/t"},
    )
    assert full.body == (
        "Your number is A017. 4 ahead of you. Estimated wait: 25 min. https://f.example/t"
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "missing variables for queue_next: number"),
        ({"number": "A1", "desk": "3", "code": "1"}, "unknown variables for queue_next: code"),
        ({"number": " ", "desk": "3"}, "number is empty"),
        ({"number": "A1\x07", "desk": "3"}, "control characters"),
    ],
)
def test_variables_are_validated_when_rendering(variables: dict[str, str], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render(NotificationKind.QUEUE_NEXT, "en", variables)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ahead", "three", "whole number"),
        ("link", "http://insecure.example", "https link"),
        ("link", "javascript:alert(1)", "https link"),
    ],
)
def test_typed_variables_are_checked(name: str, value: str, message: str) -> None:
    variables = {"number": "A017", name: value}
    with pytest.raises(TemplateError, match=message):
        render(NotificationKind.QUEUE_POSITION, "en", {**variables, "ahead": "1", name: value})


def test_a_time_needs_an_offset_and_a_timezone() -> None:
    kind = NotificationKind.CALLBACK_REMINDER
    with pytest.raises(TemplateError, match="UTC offset"):
        render(kind, "en", {"due_at": "2026-11-24T01:00:00"}, "Asia/Tokyo")
    with pytest.raises(TemplateError, match="timezone"):
        render(kind, "en", {"due_at": "2026-11-24T01:00:00Z"}, None)
    with pytest.raises(TemplateError, match="ISO 8601"):
        render(kind, "en", {"due_at": "tomorrow"}, "Asia/Tokyo")


def test_a_value_is_inserted_literally_never_interpreted() -> None:
    rendered = render(NotificationKind.QUEUE_NEXT, "en", {"number": "{desk}", "desk": "{0}"})
    assert rendered.body == "{desk}: you are next, please come to desk {0}."


def test_you_are_next_names_the_desk_when_there_is_one() -> None:
    called = render(NotificationKind.QUEUE_NEXT, "zh-CN", {"number": "M003", "desk": "7"})
    assert called.body == "M003：轮到您了，请到 7 号窗口。"
    virtual = render(NotificationKind.QUEUE_NEXT, "en", {"number": "M003"})
    assert virtual.body == "M003: you are next, please get ready."
