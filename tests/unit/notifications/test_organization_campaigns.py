# ruff: noqa: RUF001  (Chinese and Japanese text uses full-width punctuation)
"""An organization's contact centre in notifications: its campaigns need it verified, record
it, and name it as the sender in every language; a person's marketing consent is per sender
(the platform's, each organization's), withdrawn per sender by an unsubscribe link and on
every sender by an opt-out reply."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.events.notifications import MessageChannel as C
from contracts.events.notifications import NotificationKind, RecipientPreferencesSet
from contracts.events.notifications_campaigns import CampaignContent, CampaignStarted
from contracts.events.notifications_consent import OrganizationConsentSet
from runtime.errors import RuleViolation
from runtime.organizations import VerifiedOrganization
from services.notifications.api.unsubscribe import page_texts
from services.notifications.domain.campaigns import (
    CAMPAIGN,
    Audience,
    Campaign,
    StartCampaign,
    decide_start,
    sender_variables,
)
from services.notifications.domain.recipients import (
    RECIPIENT,
    OptOut,
    Recipient,
    SetOrganizationConsent,
    Unsubscribe,
    decide_opt_out,
    decide_organization_consent,
    decide_unsubscribe,
    marketing_consented,
)
from services.notifications.domain.templates import LANGUAGES, render

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ORG_A = uuid.UUID("3f6a1c2e-8b4d-4e7a-9c1f-2d5b7e9a0c41")
ORG_B = uuid.UUID("9b1e0c7d-2a4f-4c3b-8d6e-5f7a9b1c3d52")
A = VerifiedOrganization(ORG_A, "深圳示例科技有限公司", T0 - timedelta(days=3))
B = VerifiedOrganization(ORG_B, "Beispiel GmbH", T0 - timedelta(days=2))


def start(**changes: object) -> StartCampaign:
    values: dict[str, object] = {
        "campaign_id": uuid.uuid4(),
        "name": "Spring offer",
        "tag": "vip",
        "channel": C.SMS,
        "contents": (CampaignContent(language="en", title="Offer", body="10% off."),),
        "default_language": "en",
        "rate_per_minute": 60,
        "audience": Audience(("a1",), (), ()),
        "started_by": "org-admin-1",
        "at": T0,
    }
    values.update(changes)
    return StartCampaign(**values)  # type: ignore[arg-type]


# -- campaigns ----------------------------------------------------------------------------------


def test_an_organizations_campaign_records_the_organization() -> None:
    started, *_ = decide_start(Campaign(), start(organization_id=ORG_A, verified=A))
    assert isinstance(started, CampaignStarted)
    assert started.organization_id == ORG_A
    state = CAMPAIGN.fold([started])
    assert state.organization_id == ORG_A
    dumped = json.loads(json.dumps(CAMPAIGN.dump_state(state)))
    assert CAMPAIGN.load_state(dumped) == state


def test_the_platforms_campaign_has_no_organization_and_needs_no_verification() -> None:
    started, *_ = decide_start(Campaign(), start())
    assert isinstance(started, CampaignStarted)
    assert started.organization_id is None


@pytest.mark.parametrize("verified", [None, B], ids=["unknown", "another organization"])
def test_an_organization_not_verified_starts_no_campaign(
    verified: VerifiedOrganization | None,
) -> None:
    with pytest.raises(RuleViolation) as refused:
        decide_start(Campaign(), start(organization_id=ORG_A, verified=verified))
    assert refused.value.rule == "organization_not_verified"


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_organizations_campaign_names_it_as_the_sender_in_every_language(
    language: str,
) -> None:
    variables = {"title": "Offer", "body": "10% off.", **sender_variables(A)}
    rendered = render(NotificationKind.CAMPAIGN, language, variables)
    assert "深圳示例科技有限公司" in rendered.body
    assert rendered.body.index("深圳示例科技有限公司") < rendered.body.index("10% off.")
    platform = render(NotificationKind.CAMPAIGN, language, {"title": "Offer", "body": "10% off."})
    assert platform.body.startswith("10% off.")


def test_the_sender_line_reads_naturally_in_each_language() -> None:
    def first_line(language: str) -> str:
        variables = {"title": "T", "body": "B", "sender": "ACME"}
        return render(NotificationKind.CAMPAIGN, language, variables).body.split("\n")[0]

    assert first_line("zh-CN") == "【ACME】B"
    assert first_line("en") == "From ACME:"
    assert first_line("fr") == "De la part de ACME :"
    assert first_line("de") == "Von ACME:"
    assert first_line("ja") == "ACMEからのお知らせ："
    assert sender_variables(None) == {}


# -- consent per sender -------------------------------------------------------------------------


def prefs(consent: list[C] | None = None) -> RecipientPreferencesSet:
    return RecipientPreferencesSet(
        account_ref="acct-1",
        channels=[C.SMS],
        marketing_consent=consent if consent is not None else [C.SMS],
        phone="+8613800000001",
        email="p@example.com",
        set_by="agent-1",
        set_at=T0,
    )


def consent(organization: uuid.UUID, channels: list[C]) -> OrganizationConsentSet:
    return OrganizationConsentSet(
        account_ref="acct-1",
        organization_id=organization,
        marketing_consent=channels,
        set_by="org-agent-1",
        set_at=T0,
    )


def set_consent(channels: tuple[C, ...], organization: uuid.UUID = ORG_A) -> SetOrganizationConsent:
    return SetOrganizationConsent("acct-1", organization, channels, "org-agent-1", T0)


def test_consent_to_the_platform_is_not_consent_to_an_organization() -> None:
    person = RECIPIENT.fold([prefs([C.SMS])])
    assert person.consent_to(None) == {C.SMS}
    assert person.consent_to(ORG_A) == frozenset()
    assert not marketing_consented(person.preferences, C.SMS, person.consent_to(ORG_A))
    assert marketing_consented(person.preferences, C.SMS, person.consent_to(None))


def test_an_organization_records_consent_to_itself_once_verified() -> None:
    [event] = decide_organization_consent(Recipient(prefs([])), A, set_consent((C.SMS,)))
    assert event == consent(ORG_A, [C.SMS])
    person = RECIPIENT.fold([prefs([]), event])
    assert person.consent_to(ORG_A) == {C.SMS}
    assert person.consent_to(ORG_B) == frozenset()
    assert person.consent_to(None) == frozenset()
    assert marketing_consented(person.preferences, C.SMS, person.consent_to(ORG_A))
    # a consent on a channel without an address reaches nobody there
    assert not marketing_consented(person.preferences, C.WECHAT, frozenset({C.WECHAT}))
    with pytest.raises(RuleViolation) as refused:
        decide_organization_consent(Recipient(), None, set_consent((C.SMS,)))
    assert refused.value.rule == "organization_not_verified"
    with pytest.raises(RuleViolation, match="once"):
        decide_organization_consent(Recipient(), A, set_consent((C.SMS, C.SMS)))


def test_new_preferences_keep_the_consent_to_organizations() -> None:
    person = RECIPIENT.fold([prefs(), consent(ORG_A, [C.SMS]), prefs([])])
    assert person.consent_to(ORG_A) == {C.SMS}
    assert person.consent_to(None) == frozenset()
    dumped = json.loads(json.dumps(RECIPIENT.dump_state(person)))
    assert RECIPIENT.load_state(dumped) == person


def test_an_organizations_unsubscribe_link_withdraws_the_consent_to_it_alone() -> None:
    person = RECIPIENT.fold(
        [prefs([C.EMAIL]), consent(ORG_A, [C.EMAIL, C.SMS]), consent(ORG_B, [C.EMAIL])]
    )
    link = Unsubscribe(C.EMAIL, uuid.uuid4(), T0, organization_id=ORG_A)
    [withdrawn] = decide_unsubscribe(person, link)
    assert withdrawn == OrganizationConsentSet(
        account_ref="acct-1",
        organization_id=ORG_A,
        marketing_consent=[C.SMS],
        set_by="unsubscribe:email",
        set_at=T0,
    )
    after = RECIPIENT.fold([withdrawn], person)
    assert after.consent_to(ORG_A) == {C.SMS}
    assert after.consent_to(ORG_B) == {C.EMAIL}
    assert after.consent_to(None) == {C.EMAIL}
    assert decide_unsubscribe(after, link) == []  # a second click changes nothing


def test_an_opt_out_reply_withdraws_every_senders_consent_on_its_channel() -> None:
    person = RECIPIENT.fold(
        [prefs([C.SMS]), consent(ORG_B, [C.SMS, C.EMAIL]), consent(ORG_A, [C.SMS])]
    )
    events = decide_opt_out(person, OptOut(C.SMS, "+8613800000001", "TD", T0))
    after = RECIPIENT.fold(events, person)
    assert after.consent_to(None) == frozenset()
    assert after.consent_to(ORG_A) == frozenset()
    assert after.consent_to(ORG_B) == {C.EMAIL}
    assert {e.set_by for e in events} == {"inbound:sms"}  # type: ignore[attr-defined]
    # only an organization consented: the reply still withdraws it
    only_org = RECIPIENT.fold([prefs([]), consent(ORG_A, [C.SMS])])
    [withdrawn] = decide_opt_out(only_org, OptOut(C.SMS, "+8613800000001", "TD", T0))
    assert withdrawn == consent(ORG_A, []).model_copy(update={"set_by": "inbound:sms"})
    # a reply from another number withdraws nothing
    assert decide_opt_out(person, OptOut(C.SMS, "+8613900000002", "TD", T0)) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_unsubscribe_page_names_the_organization_whose_campaign_it_was(
    language: str,
) -> None:
    question, done = page_texts(language, "ACME")
    assert "ACME" in question
    assert "ACME" in done
    assert (question, done) != page_texts(language, None)
    assert "ACME" not in "".join(page_texts(language, None))
