"""Service levels of a case: the clocks (first response, next response, resolution) planned on
the site's business calendar after every decision. Pure, no I/O."""

from __future__ import annotations

from datetime import datetime

from contracts.events.cases import (
    CaseStatus,
    ServiceLevelKind,
    ServiceLevelsScheduled,
    ServiceLevelTarget,
)
from services.cases.domain.calendar import calendar_for
from services.cases.domain.case_state import Case


def _target(
    case: Case, kind: ServiceLevelKind, started_at: datetime, minutes: int
) -> ServiceLevelTarget:
    calendar = calendar_for(case.site_id)
    due = calendar.add(started_at, minutes)
    warn = calendar.subtract(due, max(minutes // 4, 5))
    return ServiceLevelTarget(kind=kind, started_at=started_at, due_at=due, warn_at=warn)


def plan_service_levels(
    before: Case,
    after: Case,
    at: datetime,
    *,
    responded: bool,
    customer_contacted: bool,
    restarted: bool,
) -> ServiceLevelsScheduled | None:
    """The service-level clocks after a decision; None when nothing changed.

    first response: runs from opening until staff first respond. next response: runs from a
    customer's contact (or reply) until staff respond. resolution: runs from opening (or a
    reopening) until a decision, paused while the case awaits the customer; the business
    minutes it was paused push its due time back."""
    assert after.case_id is not None
    assert after.case_type is not None
    levels = after.spec.service_levels
    priority = after.priority
    calendar = calendar_for(after.site_id)
    current = {t.kind: t for t in before.targets}
    was_paused = before.sla_paused
    paused = after.status is CaseStatus.AWAITING_CUSTOMER
    paused_minutes = before.paused_minutes
    if was_paused and not paused and before.paused_since is not None:
        paused_minutes += calendar.minutes_between(before.paused_since, at)
    targets: list[ServiceLevelTarget] = []
    if after.active:
        first = current.get(ServiceLevelKind.FIRST_RESPONSE)
        if not before.opened:
            first_start: datetime | None = after.opened_at
        else:
            first_start = first.started_at if first and not responded else None
        if first_start is not None:
            minutes = levels.first_response[priority]
            targets.append(_target(after, ServiceLevelKind.FIRST_RESPONSE, first_start, minutes))
        following = current.get(ServiceLevelKind.NEXT_RESPONSE)
        next_start: datetime | None = None
        if customer_contacted or (was_paused and not paused):
            next_start = following.started_at if following and not responded else at
        elif following and not responded:
            next_start = following.started_at
        if next_start is not None and not paused:
            minutes = levels.next_response[priority]
            targets.append(_target(after, ServiceLevelKind.NEXT_RESPONSE, next_start, minutes))
        resolution = current.get(ServiceLevelKind.RESOLUTION)
        if restarted or resolution is None:
            resolution_start = at if restarted else (after.opened_at or at)
            paused_minutes = 0 if restarted else paused_minutes
        else:
            resolution_start = resolution.started_at
        minutes = levels.resolution[priority] + paused_minutes
        target = _target(after, ServiceLevelKind.RESOLUTION, resolution_start, minutes)
        # the warning comes a quarter of the (unpaused) target before the due time
        warn = calendar.subtract(target.due_at, max(levels.resolution[priority] // 4, 5))
        targets.append(target.model_copy(update={"warn_at": warn}))
    if (
        before.opened
        and tuple(targets) == before.targets
        and paused == before.sla_paused
        and paused_minutes == before.paused_minutes
        and priority is before.priority
    ):
        return None
    return ServiceLevelsScheduled(
        case_id=after.case_id,
        priority=priority,
        calendar_id=calendar.calendar_id,
        targets=targets,
        paused=paused,
        paused_minutes=paused_minutes,
        scheduled_at=at,
    )
