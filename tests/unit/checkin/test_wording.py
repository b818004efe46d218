"""What check-in tells a person: every text in the five languages, no internal code in any of
them, the language chosen as notifications chooses it, refusal fields in the site's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from contracts.vocabulary import ServiceQueue
from services.checkin.domain.wording import (
    LANGUAGES,
    Alternative,
    called_message,
    language_of,
    place_message,
    refusal_fields,
)

pytestmark = pytest.mark.unit

RULES = ("served_before_closing", "queue_closed_today", "site_closed_now")
CODES = re.compile(r"[a-z]+_[a-z_]+|\{|\}")


def _texts(language: str) -> list[str]:
    at = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
    texts = [
        place_message(language, 0),
        place_message(language, 3, 5, 12),
        called_message(language, "desk-2", remote_contact=False),
        called_message(language, "remote-1", remote_contact=True),
    ]
    for rule in RULES:
        for queue in ServiceQueue:
            fields = refusal_fields(
                rule,
                language,
                ZoneInfo("Asia/Shanghai"),
                queue,
                closes=at,
                next_opening=at,
                alternatives=tuple(Alternative),
            )
            texts.append(fields["message"])
            texts.append(fields["queue"]["label"])
            texts.extend(choice["label"] for choice in fields["alternatives"])
    return texts


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_exists_in_each_language_without_an_internal_code(language: str) -> None:
    for text in _texts(language):
        assert text.strip(), language
        assert not CODES.search(text), (language, text)
        for queue in ServiceQueue:
            assert queue.value not in text
    if language != "en":
        english = set(_texts("en"))
        assert not english & set(_texts(language)), language


def test_the_language_is_the_exact_tag_else_the_same_language_else_english() -> None:
    assert language_of("zh-CN") == "zh-CN"
    assert language_of("zh-HK") == "zh-CN"
    assert language_of("fr-CA") == "fr"
    assert language_of("ko") == "en"
    assert language_of(None) == "en"


def test_refusal_fields_are_in_the_sites_zone_with_codes_and_labels() -> None:
    closes = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai
    opening = datetime(2025, 6, 3, 1, 0, tzinfo=UTC)  # 09:00 the next day
    fields = refusal_fields(
        "served_before_closing",
        "en-US",
        ZoneInfo("Asia/Shanghai"),
        ServiceQueue.GENERAL,
        closes=closes,
        next_opening=opening,
        alternatives=(Alternative.CALLBACK,),
    )
    assert fields == {
        "rule": "served_before_closing",
        "queue": {"code": "general", "label": "General enquiries"},
        "time_zone": "Asia/Shanghai",
        "closes_at": "2025-06-02T17:30:00+08:00",
        "next_opening": "2025-06-03T09:00:00+08:00",
        "alternatives": [{"code": "callback", "label": "Ask for a callback"}],
        "language": "en",
        "message": "General enquiries cannot serve you before closing at 17:30. It opens "
        "again at 2025-06-03 09:00. You can also ask for a callback.",
    }
