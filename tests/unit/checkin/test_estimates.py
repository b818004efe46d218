"""Honest waiting: estimates from measured service times and the agents serving now."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.events.checkin import WaitEstimate
from services.checkin.domain.estimates import (
    CALIBRATION_MIN_PAIRS,
    MIN_SAMPLES,
    Capacity,
    ServiceTimes,
    accuracy,
    calibrate,
    estimate_wait,
    remaining_minutes,
    service_times,
)

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
TEN = ServiceTimes(mean=10.0, sd=2.0, samples=30)
TWENTY = ServiceTimes(mean=20.0, sd=6.0, samples=30)


def test_service_times_are_measured_once_there_are_enough_samples() -> None:
    few = service_times([8.0, 12.0], default_minutes=15.0)
    assert (few.mean, few.measured) == (15.0, False)
    measured = service_times([8.0, 12.0, 10.0, 9.0, 11.0], default_minutes=15.0)
    assert measured.measured
    assert measured.mean == pytest.approx(10.0)
    assert measured.sd == pytest.approx(1.414, abs=0.01)
    assert MIN_SAMPLES == 5


def test_nobody_ahead_and_a_free_agent_means_no_wait() -> None:
    estimate = estimate_wait([], Capacity(free_shares=(1.0,)), TEN, AT)
    assert (estimate.expected_minutes, estimate.low_minutes, estimate.high_minutes) == (0, 0, 0)
    assert estimate.agents_serving == 1


def test_the_work_ahead_is_shared_by_the_agents_serving() -> None:
    ahead = [TEN] * 6
    one = estimate_wait(ahead, Capacity(busy=((1.0, 5.0),)), TEN, AT)
    three = estimate_wait(ahead, Capacity(busy=((1.0, 5.0),) * 3), TEN, AT)
    assert one.expected_minutes == 65  # 6 x 10 + 5 remaining
    assert three.expected_minutes == round((60 + 15) / 3)
    assert one.low_minutes < one.expected_minutes < one.high_minutes


def test_the_estimate_depends_on_the_problem_categories_ahead_not_a_constant() -> None:
    capacity = Capacity(free_shares=(1.0,), busy=((1.0, 0.0),))
    quick = estimate_wait([TEN] * 4, capacity, TEN, AT)
    slow = estimate_wait([TWENTY] * 4, capacity, TEN, AT)
    assert slow.expected_minutes == 2 * quick.expected_minutes
    assert slow.high_minutes - slow.low_minutes > quick.high_minutes - quick.low_minutes


def test_an_agent_shared_with_other_queues_counts_for_its_share() -> None:
    full = estimate_wait([TEN] * 4, Capacity(busy=((1.0, 0.0),)), TEN, AT)
    shared = estimate_wait([TEN] * 4, Capacity(busy=((0.5, 0.0),)), TEN, AT)
    assert shared.expected_minutes == 2 * full.expected_minutes


def test_nobody_signed_in_assumes_one_agent_and_says_so() -> None:
    estimate = estimate_wait([TEN] * 2, Capacity(), TEN, AT)
    assert estimate.agents_serving == 0
    assert estimate.expected_minutes == 20


def test_the_basis_says_when_defaults_were_used() -> None:
    default = ServiceTimes(mean=12.0, sd=6.0, samples=2)
    assert (
        estimate_wait([default], Capacity(busy=((1.0, 1.0),)), TEN, AT).basis
        == "default_service_time"
    )
    assert (
        estimate_wait([TEN], Capacity(busy=((1.0, 1.0),)), TEN, AT).basis == "recent_service_times"
    )


def test_a_long_service_is_expected_to_run_on() -> None:
    assert remaining_minutes(TEN, 3) == 7
    assert remaining_minutes(TEN, 30) == 2.5


def test_accuracy_reports_bias_error_and_range_coverage() -> None:
    def told(expected: int, low: int, high: int) -> WaitEstimate:
        return WaitEstimate(
            ahead=1,
            expected_minutes=expected,
            low_minutes=low,
            high_minutes=high,
            agents_serving=1,
            basis="recent_service_times",
            estimated_at=AT,
        )

    report = accuracy([(told(10, 5, 15), 12.0), (told(20, 15, 25), 30.0), (told(0, 0, 0), 0.0)])
    assert report.tickets == 3
    assert report.mean_error == pytest.approx((2 + 10 + 0) / 3, abs=0.01)
    assert report.mean_absolute_error == pytest.approx(4.0)
    assert report.within_range == pytest.approx(0.667, abs=0.001)
    assert accuracy([]).tickets == 0


def test_too_few_outcomes_leave_the_range_to_the_service_time_spread() -> None:
    outcomes = [(10.0, 12.0)] * (CALIBRATION_MIN_PAIRS - 1)
    assert calibrate(outcomes, scale_minutes=5.0) is None
    estimate = estimate_wait([TEN] * 3, Capacity(busy=((1.0, 5.0),)), TEN, AT)
    assert estimate.range_basis == "service_time_spread"


def test_the_calibrated_range_holds_the_share_of_past_errors_it_claims() -> None:
    # past estimates of 20 min came true anywhere from 10 to 49 min (later arrivals with
    # priority pushed many of them back): errors the service-time spread knows nothing of
    outcomes = [(20.0, 10.0 + i) for i in range(40)]
    calibration = calibrate(outcomes, scale_minutes=5.0)
    assert calibration is not None
    assert calibration.pairs == 40
    low, high = calibration.range(20.0)
    inside = sum(low <= actual <= high for _, actual in outcomes) / len(outcomes)
    assert 0.8 <= inside <= 0.9
    assert low < 20 < high


def test_the_calibrated_range_scales_with_the_size_of_the_estimate() -> None:
    outcomes = [(e, e * 1.3 + 2.0) for e in range(5, 45)] + [(e, e * 0.8) for e in range(5, 45)]
    calibration = calibrate(outcomes, scale_minutes=6.0)
    assert calibration is not None
    short_low, short_high = calibration.range(5.0)
    long_low, long_high = calibration.range(60.0)
    # errors grow like the square root of the work ahead: wider, but not 12 times wider
    assert 2 * (short_high - short_low) < long_high - long_low < 4 * (short_high - short_low)


def test_an_estimate_carries_the_calibrated_range_and_says_so() -> None:
    outcomes = [(30.0, 30.0 + delta) for delta in range(-10, 30)]
    calibration = calibrate(outcomes, scale_minutes=10.0)
    assert calibration is not None
    ahead = [TEN] * 3
    plain = estimate_wait(ahead, Capacity(busy=((1.0, 5.0),)), TEN, AT)
    calibrated = estimate_wait(ahead, Capacity(busy=((1.0, 5.0),)), TEN, AT, calibration)
    assert calibrated.range_basis == "measured_errors"
    assert calibrated.expected_minutes == plain.expected_minutes  # only the range changes
    assert calibrated.high_minutes - calibrated.low_minutes > plain.high_minutes - plain.low_minutes
    assert calibrated.low_minutes <= calibrated.expected_minutes <= calibrated.high_minutes


def test_a_queue_that_always_runs_late_never_gets_a_range_below_its_estimate() -> None:
    calibration = calibrate([(10.0, 20.0 + i % 5) for i in range(30)], scale_minutes=5.0)
    assert calibration is not None
    assert calibration.low == 0.0
    low, high = calibration.range(10.0)
    assert low == 10
    assert high > 20
