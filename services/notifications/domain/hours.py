"""When a person may be called or messaged: their preferred hours minus their quiet hours, in
their own timezone. Pure functions over aware datetimes (UTC in, UTC out); zoneinfo does the
wall-clock arithmetic, daylight-saving changes included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts.events.notifications import HoursWindow
from runtime.errors import RuleViolation

Interval = tuple[datetime, datetime]

DEFAULT_PREFERRED = HoursWindow(start="09:00", end="20:00")
DEFAULT_QUIET = HoursWindow(start="21:00", end="08:00")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleViolation(f"unknown timezone {name!r}") from None


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class DailyHours:
    """The same wall-clock span every day; an end before the start wraps past midnight."""

    start: time
    end: time

    @classmethod
    def of(cls, window: HoursWindow) -> DailyHours:
        return cls(_clock(window.start), _clock(window.end))

    def on(self, day: date, tz: ZoneInfo) -> Interval:
        start = datetime.combine(day, self.start, tz)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        end = datetime.combine(end_day, self.end, tz)
        return start, end

    def intervals(self, lo: datetime, hi: datetime, tz: ZoneInfo) -> list[Interval]:
        """This span on every local day touching [lo, hi], clipped to it."""
        found = []
        day = lo.astimezone(tz).date() - timedelta(days=1)
        last = hi.astimezone(tz).date()
        while day <= last:
            start, end = self.on(day, tz)
            start, end = max(start, lo), min(end, hi)
            if start < end:
                found.append((start.astimezone(UTC), end.astimezone(UTC)))
            day += timedelta(days=1)
        return found


def _subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    result = []
    for start, end in intervals:
        pieces = [(start, end)]
        for hole_start, hole_end in holes:
            next_pieces = []
            for piece_start, piece_end in pieces:
                if hole_end <= piece_start or hole_start >= piece_end:
                    next_pieces.append((piece_start, piece_end))
                    continue
                if piece_start < hole_start:
                    next_pieces.append((piece_start, hole_start))
                if hole_end < piece_end:
                    next_pieces.append((hole_end, piece_end))
            pieces = next_pieces
        result.extend(pieces)
    return sorted(result)


@dataclass(frozen=True)
class Availability:
    """A person's hours: when they like to be called, and when never."""

    timezone: str
    preferred: HoursWindow = DEFAULT_PREFERRED
    quiet: HoursWindow | None = DEFAULT_QUIET

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def quiet_intervals(self, lo: datetime, hi: datetime) -> list[Interval]:
        if self.quiet is None:
            return []
        return DailyHours.of(self.quiet).intervals(lo, hi, self.tz)

    def callable_intervals(self, lo: datetime, hi: datetime) -> list[Interval]:
        """Preferred hours outside quiet hours, within [lo, hi]."""
        if lo >= hi:
            return []
        preferred = DailyHours.of(self.preferred).intervals(lo, hi, self.tz)
        return _subtract(preferred, self.quiet_intervals(lo, hi))

    def allowed_intervals(self, lo: datetime, hi: datetime) -> list[Interval]:
        """Any time outside quiet hours, within [lo, hi] (when preferred hours leave none)."""
        if lo >= hi:
            return []
        return _subtract([(lo, hi)], self.quiet_intervals(lo, hi))

    def is_quiet(self, moment: datetime) -> bool:
        return any(
            start <= moment < end
            for start, end in self.quiet_intervals(
                moment - timedelta(days=1), moment + timedelta(days=1)
            )
        )

    def first_callable(self, lo: datetime, hi: datetime) -> Interval | None:
        """The first stretch to call in: preferred hours if any are left in [lo, hi], else any
        non-quiet time; None when the whole span is quiet."""
        for intervals in (self.callable_intervals(lo, hi), self.allowed_intervals(lo, hi)):
            if intervals:
                return intervals[0]
        return None

    def next_allowed(self, after: datetime, horizon: timedelta = timedelta(days=7)) -> Interval:
        """The first preferred (else non-quiet) stretch after ``after``, looking ``horizon``
        ahead; used when the requested window has no allowed moment left."""
        found = self.first_callable(after, after + horizon)
        if found is None:
            raise RuleViolation("the quiet hours leave no moment to call in the next week")
        return found

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)


# -- marketing --------------------------------------------------------------------------------

# The hours marketing may be sent in, whatever a person prefers: a service-wide window (China's
# operators refuse commercial SMS at night; the default is configurable).
DEFAULT_MARKETING_WINDOW = HoursWindow(start="09:00", end="20:00")
MARKETING_HORIZON = timedelta(days=7)


def _intersect(left: list[Interval], right: list[Interval]) -> list[Interval]:
    found = []
    for left_start, left_end in left:
        for right_start, right_end in right:
            start, end = max(left_start, right_start), min(left_end, right_end)
            if start < end:
                found.append((start, end))
    return sorted(found)


def next_marketing_moment(
    after: datetime,
    availability: Availability,
    window: HoursWindow = DEFAULT_MARKETING_WINDOW,
    horizon: timedelta = MARKETING_HORIZON,
) -> datetime | None:
    """The first moment at or after ``after`` a marketing message may reach the person: inside
    the marketing window and their preferred hours, never in their quiet hours, in their own
    timezone. When their preferred hours never meet the window, any non-quiet moment of the
    window. None when their quiet hours cover the whole window for ``horizon``: marketing
    never reaches them."""
    hi = after + horizon
    tz = availability.tz
    legal = DailyHours.of(window).intervals(after, hi, tz)
    preferred = DailyHours.of(availability.preferred).intervals(after, hi, tz)
    quiet = availability.quiet_intervals(after, hi)
    for candidates in (_intersect(legal, preferred), legal):
        allowed = _subtract(candidates, quiet)
        if allowed:
            return allowed[0][0]
    return None
