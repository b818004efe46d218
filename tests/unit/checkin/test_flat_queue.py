"""What keeps an issue flat in the queue's length: the work ahead summed per problem category
equals the ticket-by-ticket sum, and the counts of who waits follow each ticket's state."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from contracts.vocabulary import Channel, ProblemCategory, ServiceQueue
from services.checkin.application.ticket_index import waiting_moves
from services.checkin.domain.estimates import (
    Capacity,
    RangeCalibration,
    ServiceTimes,
    WorkAhead,
    estimate_wait,
)
from services.checkin.domain.tickets import Ticket, TicketStatus

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
TIMES = {
    "a": ServiceTimes(mean=7.5, sd=2.0, samples=30),
    "b": ServiceTimes(mean=12.0, sd=5.0, samples=30),
    "c": ServiceTimes(mean=15.0, sd=7.5, samples=2),  # not measured: the default
}


@pytest.mark.parametrize("seed", range(20))
def test_counts_per_category_give_the_estimate_of_the_tickets_one_by_one(seed: int) -> None:
    rng = random.Random(seed)
    ahead = [rng.choice("abc") for _ in range(rng.randrange(0, 400))]
    capacity = Capacity(free_shares=(0.5,) * rng.randrange(0, 3), busy=((1.0, 4.0),) * 2)
    calibration = rng.choice([None, RangeCalibration(-0.4, 0.9, 10.0, 50)])
    one_by_one = estimate_wait([TIMES[c] for c in ahead], capacity, TIMES["a"], AT, calibration)
    counted = WorkAhead()
    for category in sorted(set(ahead)):
        counted = counted.plus(TIMES[category], ahead.count(category))
    assert estimate_wait(counted, capacity, TIMES["a"], AT, calibration) == one_by_one


def _ticket(status: TicketStatus, queue: ServiceQueue = ServiceQueue.GENERAL) -> Ticket:
    return replace(
        Ticket(),
        status=status,
        site_id="s",
        queue=queue,
        channel=Channel.WALK_IN,
        problem_category=ProblemCategory.ACCOUNT_SUSPENDED,
    )


def test_the_counts_of_who_waits_follow_a_tickets_state() -> None:
    general = ("s", "general", "walk_in", "account_suspended")
    issued = waiting_moves(Ticket(), _ticket(TicketStatus.WAITING))
    assert issued == [(general, 1)]
    called = waiting_moves(_ticket(TicketStatus.WAITING), _ticket(TicketStatus.CALLED))
    assert called == [(general, -1)]
    assert waiting_moves(_ticket(TicketStatus.WAITING), _ticket(TicketStatus.WAITING)) == []
    other = ServiceQueue.WALLET_PAYMENTS
    moved = waiting_moves(_ticket(TicketStatus.WAITING), _ticket(TicketStatus.WAITING, other))
    assert sorted(delta for _, delta in moved) == [-1, 1]
    assert moved == sorted(moved)  # rows locked in one order
