"""Read models of a campaign's audience: who carries each tag, and whose tag it is
(``campaign_tag_members``: a verified organization's, or the platform's when
``organization_id`` is null — the same tag name of two owners is two tags), and each
account's cases, open or not, complaint or appeal or not (``campaign_account_cases``)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from contracts.events.cases import (
    CaseClosed,
    CaseEscalated,
    CaseMerged,
    CaseOpened,
    CaseReopened,
    CaseStatus,
    DecisionRecorded,
    StatusChanged,
)
from contracts.events.cases_accounts import CustomerTagged, CustomerUntagged
from contracts.events.notifications import MessageChannel
from runtime.consumer import EventHandler, ReceivedEvent
from services.notifications.domain.campaigns import COMPLAINT_OR_APPEAL_TYPES, Member

TABLES = ("campaign_tag_members", "campaign_account_cases")

# the owner in the unique key of campaign_tag_members (migration 0011): the platform's own
# tags (no organization) as the nil UUID
_OWNER = "coalesce(organization_id, '00000000-0000-0000-0000-000000000000'::uuid)"


async def project_tagged(conn: asyncpg.Connection, event: ReceivedEvent[CustomerTagged]) -> None:
    tagged = event.payload
    await conn.execute(
        f"""INSERT INTO campaign_tag_members (tag, account_ref, tagged_at, organization_id)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (tag, account_ref, ({_OWNER})) DO NOTHING""",
        tagged.tag,
        tagged.account_ref,
        tagged.tagged_at,
        tagged.organization_id,
    )


async def project_untagged(
    conn: asyncpg.Connection, event: ReceivedEvent[CustomerUntagged]
) -> None:
    untagged = event.payload
    await conn.execute(
        """DELETE FROM campaign_tag_members
           WHERE tag = $1 AND account_ref = $2 AND organization_id IS NOT DISTINCT FROM $3""",
        untagged.tag,
        untagged.account_ref,
        untagged.organization_id,
    )


async def project_case_opened(conn: asyncpg.Connection, event: ReceivedEvent[CaseOpened]) -> None:
    opened = event.payload
    await conn.execute(
        """INSERT INTO campaign_account_cases (case_id, account_ref, case_type, open)
           VALUES ($1, $2, $3, true) ON CONFLICT (case_id) DO NOTHING""",
        opened.case_id,
        opened.account_ref,
        opened.case_type.value,
    )


_CLOSED = {CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.MERGED}


async def project_status_changed(
    conn: asyncpg.Connection, event: ReceivedEvent[StatusChanged]
) -> None:
    changed = event.payload
    await conn.execute(
        "UPDATE campaign_account_cases SET open = $2 WHERE case_id = $1",
        changed.case_id,
        changed.to_status not in _CLOSED,
    )


async def project_case_reopened(
    conn: asyncpg.Connection, event: ReceivedEvent[CaseReopened]
) -> None:
    reopened = event.payload
    await conn.execute(
        """UPDATE campaign_account_cases SET open = true, appealed = appealed OR $2
           WHERE case_id = $1""",
        reopened.case_id,
        reopened.appeal,
    )


async def project_case_escalated(
    conn: asyncpg.Connection, event: ReceivedEvent[CaseEscalated]
) -> None:
    escalated = event.payload
    await conn.execute(
        "UPDATE campaign_account_cases SET escalated = true WHERE case_id = $1",
        escalated.case_id,
    )


async def project_case_ended(
    conn: asyncpg.Connection, event: ReceivedEvent[DecisionRecorded | CaseClosed | CaseMerged]
) -> None:
    """Decided (resolved), closed, or merged into another case: no longer open."""
    ended = event.payload
    if isinstance(ended, CaseMerged) and ended.case_id != ended.merged_case_id:
        return  # the survivor's copy: it stays open
    await conn.execute(
        "UPDATE campaign_account_cases SET open = false WHERE case_id = $1", ended.case_id
    )


handlers: dict[type, EventHandler] = {
    CustomerTagged: project_tagged,
    CustomerUntagged: project_untagged,
    CaseOpened: project_case_opened,
    StatusChanged: project_status_changed,
    CaseReopened: project_case_reopened,
    CaseEscalated: project_case_escalated,
    DecisionRecorded: project_case_ended,
    CaseClosed: project_case_ended,
    CaseMerged: project_case_ended,
}


# -- queries ------------------------------------------------------------------------------------

COMPLAINT_OR_APPEAL = sorted(t.value for t in COMPLAINT_OR_APPEAL_TYPES)


def _excluded_sql(account: str, types: str) -> str:
    """SQL: the account has an open case that is a complaint or an appeal (by its type, or
    appealed, or escalated)."""
    return f"""SELECT 1 FROM campaign_account_cases c
               WHERE c.account_ref = {account} AND c.open
                 AND (c.case_type = ANY({types}::text[]) OR c.appealed OR c.escalated)"""


async def has_open_complaint_or_appeal(conn: asyncpg.Connection, account_ref: str) -> bool:
    return bool(await conn.fetchval(_excluded_sql("$1", "$2"), account_ref, COMPLAINT_OR_APPEAL))


async def is_tagged(
    conn: asyncpg.Connection, tag: str, account_ref: str, organization_id: UUID | None
) -> bool:
    """Whether the account carries the tag of that owner (None: the platform's own tag)."""
    found = await conn.fetchval(
        """SELECT 1 FROM campaign_tag_members
           WHERE tag = $1 AND account_ref = $2 AND organization_id IS NOT DISTINCT FROM $3""",
        tag,
        account_ref,
        organization_id,
    )
    return found is not None


_ADDRESS_COLUMN = {
    MessageChannel.SMS: "phone",
    MessageChannel.EMAIL: "email",
    MessageChannel.WECHAT: "wechat",
    MessageChannel.QQ: "qq",
}


async def members_of(
    conn: asyncpg.Connection, tag: str, channel: MessageChannel, organization_id: UUID | None
) -> list[Member]:
    """The members of the owner's tag (None: the platform's) as the read models see them now:
    consent on ``channel`` to that owner's marketing (the platform's in
    ``recipient_preferences``, an organization's in ``organization_consent``), with an address
    for it, and whether they have an open complaint or appeal."""
    address = _ADDRESS_COLUMN[channel]
    consent = "o.marketing_consent" if organization_id is not None else "p.marketing_consent"
    rows = await conn.fetch(
        f"""SELECT m.account_ref,
                   (p.{address} IS NOT NULL AND $2 = ANY({consent})) AS consented,
                   EXISTS ({_excluded_sql("m.account_ref", "$3")}) AS excluded
            FROM campaign_tag_members m
            LEFT JOIN recipient_preferences p ON p.recipient_ref = 'account:' || m.account_ref
            LEFT JOIN organization_consent o
                   ON o.recipient_ref = 'account:' || m.account_ref AND o.organization_id = $4
            WHERE m.tag = $1 AND m.organization_id IS NOT DISTINCT FROM $4""",
        tag,
        channel.value,
        COMPLAINT_OR_APPEAL,
        organization_id,
    )
    return [
        Member(
            account_ref=row["account_ref"],
            marketing_consent=frozenset({channel}) if row["consented"] else frozenset(),
            open_complaint_or_appeal=row["excluded"],
        )
        for row in rows
    ]
