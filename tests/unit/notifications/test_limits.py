"""The customer's callback changes are rate limited (issue 12): their operations document
the 429 the limiter answers with."""

from __future__ import annotations

import pytest

from runtime.platform import definition_of
from runtime.service import create_app

pytestmark = pytest.mark.unit


def test_a_customers_callback_changes_carry_the_customer_limit() -> None:
    paths = create_app(definition_of("notifications")).openapi()["paths"]
    for path in ("/callbacks/{callback_id}/reschedule", "/callbacks/{callback_id}/cancel"):
        assert "429" in paths[path]["post"]["responses"], path
