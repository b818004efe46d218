"""The durable timer that follows a decided case to the end of its appeal period (an
after-append hook of the case repository, in the same transaction as the events): a decision
schedules it at the decision's ``appeal_until``, a reopening, a close or a merge cancels it,
and when it fires the case closes unless it was reopened meanwhile. It carries the context of
the decision that scheduled it (``runtime/scheduler.py``)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from contracts.events.cases import CaseClosed, CaseMerged, CaseReopened, DecisionRecorded
from runtime.context import CommandContext
from runtime.repository import Executed
from runtime.scheduler import cancel, schedule
from services.cases.domain.case import Case, appeal_ends

APPEAL_PERIOD_TIMER = "cases.appeal_period"


def timer_id(case_id: UUID) -> str:
    return f"appeal:{case_id}"


async def keep_appeal_timer(
    conn: asyncpg.Connection, executed: Executed[Case], context: CommandContext
) -> None:
    case = executed.state
    assert case.case_id is not None
    if any(isinstance(e, CaseReopened | CaseClosed | CaseMerged) for e in executed.events):
        await cancel(conn, timer_id(case.case_id))
    if not any(isinstance(e, DecisionRecorded) for e in executed.events):
        return
    ends = appeal_ends(case)
    if ends is not None:
        await schedule(
            conn,
            timer_id(case.case_id),
            APPEAL_PERIOD_TIMER,
            ends,
            {"case_id": str(case.case_id)},
            context,
        )
