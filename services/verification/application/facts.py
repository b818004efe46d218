"""The account platform's facts about a session's account, fetched once per use case (before
its transaction: no database connection waits on the platform)."""

from __future__ import annotations

from runtime.errors import RuleViolation
from services.verification.adapters.account_platform import AccountPlatformUnavailable
from services.verification.domain.accounts import AccountFacts
from services.verification.domain.refusals import Party, party_unavailable
from services.verification.domain.sessions import Session
from services.verification.wiring import Wiring


async def account_facts(wiring: Wiring, session: Session) -> AccountFacts:
    try:
        facts = await wiring.facts.facts(session.account_ref or "")
    except AccountPlatformUnavailable as error:
        tag = session.language.tag if session.language else None
        raise party_unavailable(Party.ACCOUNT_PLATFORM, tag, str(error)) from None
    if facts is None:
        raise RuleViolation("the platform knows no such account")
    return facts
