"""Honest waiting: an estimated wait with a range, from measured service times. Pure.

Fluid model of the queue: the work ahead of a ticket (the mean service time of each ticket
ahead, per problem category, plus what remains of the services in progress) is shared by the
agents signed in for the queue, each counted by the share of their time this queue gets (an
agent serving three queues with people waiting counts as a third). The range is the
uncertainty of that work: z * sqrt(sum of variances) / agents (z = 1.28, an 80% band).
With fewer than ``MIN_SAMPLES`` measured services, the queue's configured default service time
is used with a wide spread, and the estimate says so (``basis``).

That band models the variance of service times only; what really moves a wait is what the model
cannot see (tickets with priority arriving later and jumping ahead, transfers, people leaving).
So once a queue has ``CALIBRATION_MIN_PAIRS`` estimates whose outcome is known, the range is
*calibrated* on them instead (split-conformal style): each past estimate's error is scaled by
``size(expected) = sqrt((expected + s) * s)``, ``s`` one mean service time of the queue — the
uncertainty of a sum of n services grows like sqrt(n), so the error of a 60-minute estimate is
about 2.5 times that of a 5-minute one, not 12 times (proportional scaling made long ranges
twice too wide on the busy day) — and the range is ``expected + q * size(expected)`` for the
conformal ``(1 - c) / 2`` and ``(1 + c) / 2`` quantiles ``q`` of the scaled errors (c = 80%).
If the queue's errors are like its recent ones, the range holds the actual wait about 80% of
the time; the estimate says which range it carries (``range_basis``).
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
RANGE_COVERAGE = 0.8
CALIBRATION_MIN_PAIRS = 20


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


@dataclass(frozen=True)
class RangeCalibration:
    """The spread of a queue's recent estimate errors, scaled by the estimates' size."""

    # size(expected) = sqrt((expected + scale) * scale): see the module's docstring

    low: float  # <= 0: the low quantile of the scaled errors
    high: float  # >= 0: the high quantile
    scale_minutes: float
    pairs: int

    def range(self, expected: float) -> tuple[int, int]:
        size = math.sqrt((expected + self.scale_minutes) * self.scale_minutes)
        return max(0, math.floor(expected + self.low * size)), math.ceil(
            expected + self.high * size
        )


def _conformal_quantile(ordered: Sequence[float], level: float) -> float:
    """The ceil((n + 1) * level)-th smallest of n values (clamped): the finite-sample
    quantile that gives a split-conformal interval its coverage."""
    n = len(ordered)
    rank = min(n, max(1, math.ceil((n + 1) * level)))
    return ordered[rank - 1]


def calibrate(
    outcomes: Sequence[tuple[float, float]],
    scale_minutes: float,
    coverage: float = RANGE_COVERAGE,
) -> RangeCalibration | None:
    """Calibration from ``(expected, actual)`` minutes of a queue's recent estimates, or None
    with fewer than ``CALIBRATION_MIN_PAIRS`` (the model's own spread is used then)."""
    if len(outcomes) < CALIBRATION_MIN_PAIRS or scale_minutes <= 0:
        return None
    scaled = sorted(
        (actual - expected) / math.sqrt((expected + scale_minutes) * scale_minutes)
        for expected, actual in outcomes
    )
    tail = (1 - coverage) / 2
    return RangeCalibration(
        low=min(0.0, _conformal_quantile(scaled, tail)),
        high=max(0.0, _conformal_quantile(scaled, 1 - tail)),
        scale_minutes=scale_minutes,
        pairs=len(outcomes),
    )


@dataclass(frozen=True)
class WorkAhead:
    """The tickets ahead of one, summed: how many, their mean service times, their variances,
    and whether every one of those times was measured. Built one ticket (or one problem
    category's count) at a time, so a queue's estimates cost one pass, and a new ticket's
    estimate only the counts of who waits."""

    tickets: int = 0
    minutes: float = 0.0
    variance: float = 0.0
    measured: bool = True

    def plus(self, times: ServiceTimes, count: int = 1) -> WorkAhead:
        if count <= 0:
            return self
        return WorkAhead(
            tickets=self.tickets + count,
            minutes=self.minutes + count * times.mean,
            variance=self.variance + count * times.sd**2,
            measured=self.measured and times.measured,
        )


def work_of(ahead: Sequence[ServiceTimes]) -> WorkAhead:
    work = WorkAhead()
    for times in ahead:
        work = work.plus(times)
    return work


def estimate_wait(
    ahead: Sequence[ServiceTimes] | WorkAhead,
    capacity: Capacity,
    own: ServiceTimes,
    at: datetime,
    calibration: RangeCalibration | None = None,
) -> WaitEstimate:
    """The wait of a ticket with ``ahead`` tickets before it in the queue's order (each one's
    service times, or their sum), with the range calibrated on the queue's recent errors when
    there are enough of them."""
    work = ahead if isinstance(ahead, WorkAhead) else work_of(ahead)
    free_now = len(capacity.free_shares)
    k = capacity.effective_agents
    if capacity.agents == 0 or k <= 0:
        k = 1.0  # nobody signed in: assume one agent will be (the estimate says agents=0)
    if work.tickets < free_now:
        expected = 0.0
        spread = 0.0
    else:
        minutes = work.minutes + sum(share * left for share, left in capacity.busy)
        variance = work.variance + sum((share * 0.5 * own.sd) ** 2 for share, _ in capacity.busy)
        expected = minutes / k
        spread = Z_80 * math.sqrt(variance) / k
    measured = own.measured and work.measured
    if calibration is not None:
        low, high = calibration.range(expected)
    else:
        low, high = max(0, math.floor(expected - spread)), math.ceil(expected + spread)
    return WaitEstimate(
        ahead=work.tickets,
        expected_minutes=round(expected),
        low_minutes=min(low, round(expected)),
        high_minutes=max(high, round(expected)),
        agents_serving=capacity.agents,
        basis="recent_service_times" if measured else "default_service_time",
        range_basis="measured_errors" if calibration is not None else "service_time_spread",
        estimated_at=at,
    )


@dataclass(frozen=True)
class Accuracy:
    """Estimate vs actual over a set of tickets (minutes)."""

    tickets: int
    mean_error: float  # actual - expected: > 0 means we promised too little
    mean_absolute_error: float
    within_range: float  # share of actual waits inside [low, high]
    mean_range_minutes: float = 0.0  # how wide the ranges were (a range is only useful narrow)


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
        mean_range_minutes=round(
            statistics.fmean(e.high_minutes - e.low_minutes for e, _ in pairs), 2
        ),
    )
