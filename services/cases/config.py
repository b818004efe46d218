"""Settings of the cases service alone (the shared ones are in runtime/settings.py)."""

from __future__ import annotations

import os
from datetime import timedelta

from services.cases.domain.case_types import DEFAULT_APPEAL_PERIOD


def appeal_period() -> timedelta:
    """How long after a resolution the customer may appeal (reopen): FRONTDESK_CASES_APPEAL_DAYS
    (default 30 days)."""
    days = os.environ.get("FRONTDESK_CASES_APPEAL_DAYS")
    if not days:
        return DEFAULT_APPEAL_PERIOD
    value = int(days)
    if not 1 <= value <= 3650:
        raise ValueError("FRONTDESK_CASES_APPEAL_DAYS must be between 1 and 3650")
    return timedelta(days=value)
