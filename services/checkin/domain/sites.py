"""The site aggregate: time zone, opening hours, queues and their settings, desks and remote
positions, queues closed for a day. Pure; the clock is passed in.

A site is the platform's own (``organization_id`` None) or a verified organization's contact
centre: the organization is recorded when the site is first configured and never changes;
only that organization's staff change it (anyone else: "no such site"), and only while the
organization is verified (``runtime.organizations.require_verified``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts.base import EventPayload
from contracts.events.checkin_sites import (
    DeskAdded,
    DeskKind,
    OpeningHours,
    QueueClosed,
    QueueOpened,
    QueueSettings,
    SiteConfigured,
)
from contracts.vocabulary import ServiceQueue
from runtime.aggregate import AggregateType, Snapshots
from runtime.errors import NotFound, RuleViolation
from runtime.organizations import VerifiedOrganization, require_verified

# The phone menu of a site that configured none: the key a caller presses -> the queue.
STANDARD_IVR_MENU: dict[str, ServiceQueue] = {
    "1": ServiceQueue.ACCOUNT_SECURITY,
    "2": ServiceQueue.WALLET_PAYMENTS,
    "3": ServiceQueue.MINORS_FAMILY,
    "4": ServiceQueue.COMMERCE_DISPUTES,
    "0": ServiceQueue.GENERAL,
}
IVR_KEY = re.compile(r"^[0-9*#]$")


@dataclass(frozen=True)
class Desk:
    desk_id: str
    kind: DeskKind
    location: str | None = None


@dataclass(frozen=True)
class Site:
    """A service center. ``Site()`` (never configured) behaves as the platform did before
    sites existed: UTC days, always open, every queue with default settings."""

    site_id: str | None = None
    name: str | None = None
    timezone: str = "UTC"
    opening_hours: tuple[OpeningHours, ...] = ()
    queues: dict[ServiceQueue, QueueSettings] = field(default_factory=dict)
    desks: dict[str, Desk] = field(default_factory=dict)
    closed: frozenset[tuple[ServiceQueue, date]] = frozenset()
    estimate_margin_minutes: int = 5
    screening_required: bool = False
    ivr_menu: dict[str, ServiceQueue] = field(default_factory=lambda: dict(STANDARD_IVR_MENU))
    organization_id: UUID | None = None  # the organization whose contact centre it is

    @property
    def configured(self) -> bool:
        return self.site_id is not None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_day(self, at: datetime) -> date:
        """The calendar day at the site: daily numbers restart at its local midnight."""
        return at.astimezone(self.zone).date()

    def serves(self, queue: ServiceQueue) -> bool:
        return not self.configured or queue in self.queues

    def ivr_queue(self, key: str) -> ServiceQueue:
        """The queue a caller reaches by pressing ``key`` in this site's phone menu."""
        if key not in self.ivr_menu:
            options = ", ".join(f"{k} {q}" for k, q in sorted(self.ivr_menu.items()))
            raise RuleViolation(f"no IVR option {key} at this site: the menu is {options}")
        return self.ivr_menu[key]

    def settings(self, queue: ServiceQueue) -> QueueSettings:
        return self.queues.get(queue) or QueueSettings(queue=queue)

    def periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """Opening periods of a local day, as aware datetimes (DST-correct)."""
        zone = self.zone
        return [
            (
                datetime.combine(day, hours.opens, tzinfo=zone),
                datetime.combine(day, hours.closes, tzinfo=zone),
            )
            for hours in sorted(self.opening_hours, key=lambda h: h.opens)
            if hours.weekday == day.weekday()
        ]

    def is_open(self, at: datetime) -> bool:
        if not self.opening_hours:
            return True
        day = self.local_day(at)
        return any(start <= at < end for start, end in self.periods(day))

    def closes_at(self, at: datetime) -> datetime | None:
        """End of the opening period ``at`` falls in (None: around the clock or closed)."""
        if not self.opening_hours:
            return None
        for start, end in self.periods(self.local_day(at)):
            if start <= at < end:
                return end
        return None

    def next_opening(self, at: datetime, queue: ServiceQueue | None = None) -> datetime | None:
        """The next moment the site (and the queue, if named) opens after ``at``."""
        if not self.opening_hours:
            return None
        day = self.local_day(at)
        for offset in range(0, 15):
            candidate_day = day + timedelta(days=offset)
            if queue is not None and (queue, candidate_day) in self.closed:
                continue
            for start, _ in self.periods(candidate_day):
                if start > at:
                    return start.astimezone(UTC)
        return None

    def queue_closed_today(self, queue: ServiceQueue, at: datetime) -> bool:
        return (queue, self.local_day(at)) in self.closed


# -- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigureSite:
    site_id: str
    name: str
    timezone: str
    opening_hours: tuple[OpeningHours, ...]
    queues: tuple[QueueSettings, ...]
    at: datetime
    estimate_margin_minutes: int = 5
    screening_required: bool = False
    ivr_menu: dict[str, ServiceQueue] | None = None
    organization_id: UUID | None = None  # the acting staff's organization (None: platform)


@dataclass(frozen=True)
class AddDesk:
    desk_id: str
    kind: DeskKind
    at: datetime
    location: str | None = None
    organization_id: UUID | None = None


@dataclass(frozen=True)
class CloseQueue:
    queue: ServiceQueue
    at: datetime
    reason: str | None = None
    organization_id: UUID | None = None


@dataclass(frozen=True)
class OpenQueue:
    queue: ServiceQueue
    at: datetime
    organization_id: UUID | None = None


SiteCommand = ConfigureSite | AddDesk | CloseQueue | OpenQueue


@dataclass(frozen=True)
class SiteFacts:
    """What the application gathered before a site command: the acting organization as
    verification verified it (None: not verified, or the platform's staff), and whether
    tickets were already issued under this site id before anyone configured it (the platform's
    unconfigured site, which an organization may not take over)."""

    verified: VerifiedOrganization | None = None
    tickets_issued: bool = False


NO_SITE_FACTS = SiteFacts()


def decide_site(
    site: Site, command: SiteCommand, facts: SiteFacts = NO_SITE_FACTS
) -> list[EventPayload]:
    if site.configured and site.organization_id != command.organization_id:
        raise NotFound("no such site")  # another's contact centre: not even that it exists
    require_verified(command.organization_id, facts.verified)
    match command:
        case ConfigureSite():
            if not site.configured and command.organization_id and facts.tickets_issued:
                raise RuleViolation(
                    f"site id {command.site_id} is already in use: choose another",
                    rule="site_id_in_use",
                )
            try:
                ZoneInfo(command.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise RuleViolation(f"unknown time zone {command.timezone!r}") from None
            for hours in command.opening_hours:
                if hours.closes <= hours.opens:
                    raise RuleViolation(
                        f"opening hours of weekday {hours.weekday} close before they open"
                    )
            queues = [settings.queue for settings in command.queues]
            if len(set(queues)) != len(queues):
                raise RuleViolation("each queue may be configured only once")
            for key, queue in sorted((command.ivr_menu or {}).items()):
                if not IVR_KEY.match(key):
                    raise RuleViolation(f"IVR option {key!r}: one key, 0-9, * or #")
                if queue not in queues:
                    raise RuleViolation(f"IVR option {key} leads to {queue}, not served here")
            return [
                SiteConfigured(
                    site_id=command.site_id,
                    name=command.name,
                    timezone=command.timezone,
                    opening_hours=list(command.opening_hours),
                    queues=list(command.queues),
                    estimate_margin_minutes=command.estimate_margin_minutes,
                    screening_required=command.screening_required,
                    ivr_menu=command.ivr_menu,
                    configured_at=command.at,
                    organization_id=command.organization_id,
                )
            ]
        case AddDesk():
            _require_configured(site)
            if command.desk_id in site.desks:
                raise RuleViolation(f"desk {command.desk_id} already exists at {site.site_id}")
            if command.kind is DeskKind.REMOTE_POSITION and not command.location:
                raise RuleViolation("a remote position needs its location (city, country)")
            return [
                DeskAdded(
                    site_id=site.site_id or "",
                    desk_id=command.desk_id,
                    kind=command.kind,
                    location=command.location,
                    added_at=command.at,
                )
            ]
        case CloseQueue():
            _require_configured(site)
            _require_queue(site, command.queue)
            day = site.local_day(command.at)
            if (command.queue, day) in site.closed:
                raise RuleViolation(f"{command.queue} is already closed for {day}")
            return [
                QueueClosed(
                    site_id=site.site_id or "",
                    queue=command.queue,
                    service_day=day,
                    reason=command.reason,
                    closed_at=command.at,
                )
            ]
        case OpenQueue():
            _require_configured(site)
            _require_queue(site, command.queue)
            day = site.local_day(command.at)
            if (command.queue, day) not in site.closed:
                raise RuleViolation(f"{command.queue} is not closed on {day}")
            return [
                QueueOpened(
                    site_id=site.site_id or "",
                    queue=command.queue,
                    service_day=day,
                    opened_at=command.at,
                )
            ]
    raise TypeError(f"unknown command {command!r}")


def _require_configured(site: Site) -> None:
    if not site.configured:
        raise NotFound("no such site")


def _require_queue(site: Site, queue: ServiceQueue) -> None:
    if queue not in site.queues:
        raise RuleViolation(f"site {site.site_id} does not serve {queue}")


def evolve_site(site: Site, event: EventPayload) -> Site:
    match event:
        case SiteConfigured():
            return replace(
                site,
                site_id=event.site_id,
                name=event.name,
                timezone=event.timezone,
                opening_hours=tuple(event.opening_hours),
                queues={settings.queue: settings for settings in event.queues},
                estimate_margin_minutes=event.estimate_margin_minutes,
                screening_required=event.screening_required,
                ivr_menu=dict(event.ivr_menu or STANDARD_IVR_MENU),
                # recorded when first configured, never changed
                organization_id=site.organization_id if site.configured else event.organization_id,
            )
        case DeskAdded():
            desk = Desk(event.desk_id, event.kind, event.location)
            return replace(site, desks={**site.desks, event.desk_id: desk})
        case QueueClosed():
            return replace(site, closed=site.closed | {(event.queue, event.service_day)})
        case QueueOpened():
            return replace(site, closed=site.closed - {(event.queue, event.service_day)})
    return site


# A site lives for years (a closure and an opening per queue and day): keep a snapshot
# (version 2: the state records its organization).
SITE = AggregateType[Site]("site", Site, evolve_site, snapshots=Snapshots(version=2, every=20))
