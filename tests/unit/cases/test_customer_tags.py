"""Tags on a customer belong to their owner: the platform's service centre or a verified
organization's contact centre (issue 16 item 2). Given events, when a command, then events or
the refusal."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from contracts.events.cases_accounts import CustomerTagged, CustomerUntagged
from runtime.errors import InvalidValue, NotFound, RuleViolation
from runtime.organizations import VerifiedOrganization
from services.cases.domain.account import (
    ACCOUNT,
    NO_FACTS,
    Account,
    AccountFacts,
    TagCustomer,
    UntagCustomer,
    decide,
)
from tests.unit.cases.support import T0

pytestmark = pytest.mark.unit

A, B = uuid4(), uuid4()
REF = "acct-7f3c2a"


def verified(organization_id: UUID) -> AccountFacts:
    return AccountFacts(VerifiedOrganization(organization_id, "示例科技有限公司", T0))


def tagged(account: Account, owner: UUID | None, tag: str = "vip") -> Account:
    facts = verified(owner) if owner is not None else NO_FACTS
    return ACCOUNT.fold(
        decide(account, facts, TagCustomer(REF, tag, T0, None, None, owner)), account
    )


def test_the_platforms_and_each_organizations_vip_are_different_tags() -> None:
    account = tagged(tagged(tagged(ACCOUNT.initial(), None), A), B)
    assert account.tags_of(None) == {"vip"}
    assert account.tags_of(A) == {"vip"}
    assert account.tags_of(B) == {"vip"}
    assert account.tags_of(uuid4()) == frozenset()
    # tagging twice is refused per owner
    for owner in (None, A, B):
        with pytest.raises(RuleViolation, match="already has the tag vip"):
            tagged(account, owner)


def test_an_organizations_tag_event_names_the_organization() -> None:
    [event] = decide(ACCOUNT.initial(), verified(A), TagCustomer(REF, "vip", T0, "camp-9", None, A))
    assert isinstance(event, CustomerTagged)
    assert (event.organization_id, event.campaign_id) == (A, "camp-9")
    [platform] = decide(ACCOUNT.initial(), NO_FACTS, TagCustomer(REF, "vip", T0))
    assert isinstance(platform, CustomerTagged)
    assert platform.organization_id is None


def test_untagging_takes_off_only_the_owners_tag() -> None:
    account = tagged(tagged(tagged(ACCOUNT.initial(), None), A), B)
    [event] = decide(account, verified(A), UntagCustomer(REF, "vip", T0, A))
    assert isinstance(event, CustomerUntagged)
    assert event.organization_id == A
    after = ACCOUNT.fold([event], account)
    assert after.tags_of(A) == frozenset()
    assert after.tags_of(None) == {"vip"}
    assert after.tags_of(B) == {"vip"}
    with pytest.raises(NotFound, match="no tag vip"):
        decide(after, verified(A), UntagCustomer(REF, "vip", T0, A))
    # an organization untagging the platform's tag: it has none of its own by that name
    other = uuid4()
    with pytest.raises(NotFound, match="no tag vip"):
        decide(after, verified(other), UntagCustomer(REF, "vip", T0, other))


@pytest.mark.parametrize(
    "command",
    [
        TagCustomer(REF, "vip", T0, organization_id=A),
        UntagCustomer(REF, "vip", T0, organization_id=A),
    ],
)
def test_an_unverified_organization_tags_nothing(command: TagCustomer | UntagCustomer) -> None:
    account = tagged(ACCOUNT.initial(), A)
    for facts in (NO_FACTS, verified(B)):  # not verified, or the fact of another organization
        with pytest.raises(RuleViolation) as refused:
            decide(account, facts, command)
        assert refused.value.rule == "organization_not_verified"


def test_an_organizations_tag_names_no_case_of_the_platform() -> None:
    with pytest.raises(InvalidValue) as refused:
        decide(ACCOUNT.initial(), verified(A), TagCustomer(REF, "vip", T0, None, uuid4(), A))
    assert refused.value.field == "case_id"
    assert decide(ACCOUNT.initial(), NO_FACTS, TagCustomer(REF, "vip", T0, None, uuid4()))


def test_tags_per_owner_round_trip_through_the_snapshot() -> None:
    account = tagged(tagged(tagged(ACCOUNT.initial(), None, "a-1"), A, "b-1"), B, "c-1")
    assert ACCOUNT.load_state(ACCOUNT.dump_state(account)) == account
    emptied = ACCOUNT.fold(decide(account, verified(A), UntagCustomer(REF, "b-1", T0, A)), account)
    assert A not in emptied.organization_tags  # an owner with no tag left leaves no trace
    assert ACCOUNT.load_state(ACCOUNT.dump_state(emptied)) == emptied
