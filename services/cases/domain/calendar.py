"""The business calendar service levels are timed on. Pure: no clock reads.

Kept deliberately simple and explicit: a site has a timezone, one opening window per day
(the same every working day), the weekdays it works, and a list of closed dates (public
holidays). A service level of "4 business hours" counts only minutes inside those windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MAX_DAYS = 800  # a calendar with no working day in two years is a configuration error


@dataclass(frozen=True)
class BusinessCalendar:
    calendar_id: str
    timezone: str
    opens: time
    closes: time
    workdays: frozenset[int] = frozenset(range(7))  # 0 = Monday
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ValueError("a business day must open before it closes")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The opening window of a local date (aware datetimes), or None when closed."""
        if day.weekday() not in self.workdays or day in self.closed_dates:
            return None
        zone = self.zone
        return datetime.combine(day, self.opens, zone), datetime.combine(day, self.closes, zone)

    def add(self, start: datetime, minutes: int) -> datetime:
        """The moment ``minutes`` business minutes after ``start`` (UTC)."""
        if minutes < 0:
            return self.subtract(start, -minutes)
        remaining = timedelta(minutes=minutes)
        local = start.astimezone(self.zone)
        day = local.date()
        for _ in range(_MAX_DAYS):
            window = self.window(day)
            if window is not None:
                begin = max(window[0], local)
                if begin < window[1]:
                    available = window[1] - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.calendar_id} has no business time ahead")

    def subtract(self, end: datetime, minutes: int) -> datetime:
        """The moment ``minutes`` business minutes before ``end`` (UTC)."""
        remaining = timedelta(minutes=minutes)
        local = end.astimezone(self.zone)
        day = local.date()
        for _ in range(_MAX_DAYS):
            window = self.window(day)
            if window is not None:
                finish = min(window[1], local)
                if finish > window[0]:
                    available = finish - window[0]
                    if remaining <= available:
                        return (finish - remaining).astimezone(UTC)
                    remaining -= available
            day -= timedelta(days=1)
        raise ValueError(f"calendar {self.calendar_id} has no business time behind")

    def minutes_between(self, start: datetime, end: datetime) -> int:
        """Business minutes from ``start`` to ``end`` (0 when end is not after start)."""
        if end <= start:
            return 0
        total = timedelta()
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            window = self.window(day)
            if window is not None:
                begin, finish = max(window[0], start), min(window[1], end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return int(total.total_seconds() // 60)


# The service centres' calendar: open every day 09:00-21:00 China time, closed on the first
# days of the national holidays listed. A site without its own entry uses it.
SERVICE_CENTRE = BusinessCalendar(
    calendar_id="cn-service-centre-2026",
    timezone="Asia/Shanghai",
    opens=time(9, 0),
    closes=time(21, 0),
    closed_dates=frozenset(
        {
            date(2026, 1, 1),
            date(2026, 2, 16),
            date(2026, 2, 17),
            date(2026, 2, 18),
            date(2026, 5, 1),
            date(2026, 10, 1),
            date(2026, 10, 2),
        }
    ),
)

CALENDARS: dict[str, BusinessCalendar] = {SERVICE_CENTRE.calendar_id: SERVICE_CENTRE}
SITE_CALENDARS: dict[str, str] = {}  # site id -> calendar id, for sites with their own hours


def calendar_for(site_id: str | None) -> BusinessCalendar:
    return CALENDARS[SITE_CALENDARS.get(site_id or "", SERVICE_CENTRE.calendar_id)]
