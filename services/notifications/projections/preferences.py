"""Read models ``recipient_preferences``: channels, language, hours and marketing consent to
the platform's campaigns (the addresses are personal data); ``organization_consent``: the
person's marketing consent to each verified organization's campaigns."""

from __future__ import annotations

import asyncpg

from contracts.events.notifications import MessageChannel, RecipientPreferencesSet
from contracts.events.notifications_consent import OrganizationConsentSet
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("recipient_preferences", "organization_consent")


async def project_preferences(
    conn: asyncpg.Connection, event: ReceivedEvent[RecipientPreferencesSet]
) -> None:
    prefs = event.payload
    sealed = event.envelope.personal_data
    if sealed is not None and all(getattr(prefs, name, None) is None for name in sealed.fields):
        # the person was erased (their sealed addresses read as null): a replay leaves no
        # row, as the erasure left none live (``redact``), so a rebuild equals the live model
        await conn.execute(
            "DELETE FROM recipient_preferences WHERE recipient_ref = $1",
            f"account:{prefs.account_ref}",
        )
        return
    await conn.execute(
        """INSERT INTO recipient_preferences (recipient_ref, subject_id, channels, language,
               timezone, preferred_start, preferred_end, quiet_start, quiet_end, phone, email,
               wechat, qq, marketing_consent, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (recipient_ref) DO UPDATE SET
               channels = EXCLUDED.channels, language = EXCLUDED.language,
               timezone = EXCLUDED.timezone, preferred_start = EXCLUDED.preferred_start,
               preferred_end = EXCLUDED.preferred_end, quiet_start = EXCLUDED.quiet_start,
               quiet_end = EXCLUDED.quiet_end, phone = EXCLUDED.phone, email = EXCLUDED.email,
               wechat = EXCLUDED.wechat, qq = EXCLUDED.qq,
               marketing_consent = EXCLUDED.marketing_consent,
               updated_at = EXCLUDED.updated_at""",
        f"account:{prefs.account_ref}",
        prefs.data_subject_id,
        [c.value for c in prefs.channels],
        prefs.language,
        prefs.timezone,
        prefs.preferred_hours.start if prefs.preferred_hours else None,
        prefs.preferred_hours.end if prefs.preferred_hours else None,
        prefs.quiet_hours.start if prefs.quiet_hours else None,
        prefs.quiet_hours.end if prefs.quiet_hours else None,
        prefs.phone,
        prefs.email,
        prefs.wechat,
        prefs.qq,
        [c.value for c in prefs.marketing_consent],
        prefs.set_at,
    )


async def project_organization_consent(
    conn: asyncpg.Connection, event: ReceivedEvent[OrganizationConsentSet]
) -> None:
    consent = event.payload
    await conn.execute(
        """INSERT INTO organization_consent (recipient_ref, organization_id, subject_id,
               marketing_consent, updated_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (recipient_ref, organization_id) DO UPDATE SET
               marketing_consent = EXCLUDED.marketing_consent,
               updated_at = EXCLUDED.updated_at""",
        f"account:{consent.account_ref}",
        consent.organization_id,
        consent.data_subject_id,
        [c.value for c in consent.marketing_consent],
        consent.set_at,
    )


handlers: dict[type, EventHandler] = {
    RecipientPreferencesSet: project_preferences,
    OrganizationConsentSet: project_organization_consent,
}


async def redact(conn: asyncpg.Connection, subject_id: str) -> None:
    await conn.execute("DELETE FROM recipient_preferences WHERE subject_id = $1", subject_id)
    await conn.execute("DELETE FROM organization_consent WHERE subject_id = $1", subject_id)


_ADDRESS_COLUMN = {
    MessageChannel.SMS: "phone",
    MessageChannel.EMAIL: "email",
    MessageChannel.WECHAT: "wechat",
    MessageChannel.QQ: "qq",
}


async def accounts_with_address(
    conn: asyncpg.Connection, channel: MessageChannel, address: str
) -> list[str]:
    """The accounts whose preferences name ``address`` on ``channel`` (as stored)."""
    rows = await conn.fetch(
        f"""SELECT recipient_ref FROM recipient_preferences
            WHERE {_ADDRESS_COLUMN[channel]} = $1 AND recipient_ref LIKE 'account:%'
            ORDER BY recipient_ref""",
        address,
    )
    return [row["recipient_ref"].removeprefix("account:") for row in rows]
