"""A phone, chat or email contact called by an agent goes to no window: "you are next" says an
agent is about to contact them, in every language (issue 16, flow 5)."""

from __future__ import annotations

import pytest

from contracts.events.notifications import NotificationKind
from services.notifications.domain.templates import LANGUAGES, render

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_remote_contact_is_told_an_agent_is_about_to_contact_them(language: str) -> None:
    remote = render(NotificationKind.QUEUE_NEXT, language, {"number": "A001", "contact": "phone"})
    at_desk = render(NotificationKind.QUEUE_NEXT, language, {"number": "A001", "desk": "7"})
    assert "7" in at_desk.body
    assert "phone" not in remote.body  # the channel is never shown
    assert remote.body != at_desk.body
    assert remote.body.startswith(at_desk.body.split("7")[0][:6])
    english = render(NotificationKind.QUEUE_NEXT, "en", {"number": "A001", "contact": "chat_web"})
    assert english.body == (
        "A001: you are next, please get ready. An agent is about to contact you; "
        "please stay reachable."
    )
