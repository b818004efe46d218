"""Honest waiting: an estimated wait with a range, from measured service times. Pure.

Fluid model of the queue: the work ahead of a ticket (the mean service time of each ticket
ahead, per problem category, plus what remains of the services in progress) is shared by the
agents signed in for the queue, each counted by the share of their time this queue gets (an
agent serving three queues with people waiting counts as a third). The range is the
uncertainty of that work: z * sqrt(sum of variances) / agents (z = 1.28, an 80% band).
With fewer than ``MIN_SAMPLES`` measured services, the queue's configured default service time
is used with a wide spread, and the estimate says so (``basis``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from contracts.events.checkin import WaitEstimate

MIN_SAMPLES = 5
Z_80 = 1.28


@dataclass(frozen=True)
class ServiceTimes:
    """Service time of one problem category in one queue, in minutes."""

    mean: float
    sd: float
    samples: int

    @property
    def measured(self) -> bool:
        return self.samples >= MIN_SAMPLES


def service_times(samples_minutes: Sequence[float], default_minutes: float) -> ServiceTimes:
    if len(samples_minutes) < MIN_SAMPLES:
        return ServiceTimes(default_minutes, default_minutes * 0.5, len(samples_minutes))
    mean = statistics.fmean(samples_minutes)
    sd = statistics.pstdev(samples_minutes)
    return ServiceTimes(mean, max(sd, 0.1 * mean), len(samples_minutes))


@dataclass(frozen=True)
class Capacity:
    """Agents signed in for the queue: ``share`` of each one's time this queue gets, and for
    those serving, the minutes their current service probably still takes."""

    free_shares: tuple[float, ...] = ()
    busy: tuple[tuple[float, float], ...] = ()  # (share, remaining minutes)

    @property
    def agents(self) -> int:
        return len(self.free_shares) + len(self.busy)

    @property
    def effective_agents(self) -> float:
        return sum(self.free_shares) + sum(share for share, _ in self.busy)


def remaining_minutes(times: ServiceTimes, elapsed_minutes: float) -> float:
    """What is left of a service in progress: the mean minus the time spent, never less
    than a quarter of the mean (a long service is likely to run on)."""
    return max(times.mean - elapsed_minutes, 0.25 * times.mean)


def estimate_wait(
    ahead: Sequence[ServiceTimes],
    capacity: Capacity,
    own: ServiceTimes,
    at: datetime,
) -> WaitEstimate:
    """The wait of a ticket with ``ahead`` tickets before it in the queue's order."""
    free_now = len(capacity.free_shares)
    k = capacity.effective_agents
    if capacity.agents == 0 or k <= 0:
        k = 1.0  # nobody signed in: assume one agent will be (the estimate says agents=0)
    if len(ahead) < free_now:
        expected = 0.0
        spread = 0.0
    else:
        work = sum(t.mean for t in ahead) + sum(share * left for share, left in capacity.busy)
        variance = sum(t.sd**2 for t in ahead) + sum(
            (share * 0.5 * own.sd) ** 2 for share, _ in capacity.busy
        )
        expected = work / k
        spread = Z_80 * math.sqrt(variance) / k
    measured = own.measured and all(t.measured for t in ahead)
    return WaitEstimate(
        ahead=len(ahead),
        expected_minutes=round(expected),
        low_minutes=max(0, math.floor(expected - spread)),
        high_minutes=math.ceil(expected + spread),
        agents_serving=capacity.agents,
        basis="recent_service_times" if measured else "default_service_time",
        estimated_at=at,
    )


@dataclass(frozen=True)
class Accuracy:
    """Estimate vs actual over a set of tickets (minutes)."""

    tickets: int
    mean_error: float  # actual - expected: > 0 means we promised too little
    mean_absolute_error: float
    within_range: float  # share of actual waits inside [low, high]


def accuracy(pairs: Sequence[tuple[WaitEstimate, float]]) -> Accuracy:
    if not pairs:
        return Accuracy(0, 0.0, 0.0, 0.0)
    errors = [actual - estimate.expected_minutes for estimate, actual in pairs]
    inside = [
        estimate.low_minutes - 0.5 <= actual <= estimate.high_minutes + 0.5
        for estimate, actual in pairs
    ]
    return Accuracy(
        tickets=len(pairs),
        mean_error=round(statistics.fmean(errors), 2),
        mean_absolute_error=round(statistics.fmean(abs(e) for e in errors), 2),
        within_range=round(sum(inside) / len(inside), 3),
    )
