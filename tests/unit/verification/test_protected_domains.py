"""The operators' registry of protected brands and its part in the impersonation guard:
seeded once, changed by operators, and screened at submission even when the brand has not
verified an organization here (issue 16: ``sh-byd.com`` for ``byd.com``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts.events.verification_organizations import LookalikeDomainFlagged
from contracts.events.verification_organizations import LookalikeTechnique as T
from contracts.events.verification_protected_domains import (
    ProtectedDomainAdded,
    ProtectedDomainRemoved,
    ProtectionSource,
)
from runtime.errors import NotFound, RuleViolation
from services.verification.domain.organizations import (
    Organization,
    Profile,
    SubmitOrganization,
    decide_organization,
)
from services.verification.domain.protected_domains import (
    PROTECTED_DOMAINS,
    SEEDS,
    ProtectDomain,
    ProtectedDomains,
    SeedProtectedDomains,
    UnprotectDomain,
    decide_protected_domains,
)

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def seeded() -> ProtectedDomains:
    events = decide_protected_domains(ProtectedDomains(), SeedProtectedDomains(SEEDS, AT))
    return PROTECTED_DOMAINS.fold(events)


def submit(domain: str, registry: ProtectedDomains, verified: tuple[str, ...] = ()) -> list[str]:
    profile = Profile(
        legal_name=f"{domain} Trading Co., Ltd.",
        unified_social_credit_code="91350100M000100Y43",
        legal_representative_name="Fake Representative",
        legal_representative_id_ref="doc-1",
        bank_name="Sandbox Bank",
        bank_account_number="6222020000001234",
        contact_name="Fake Contact",
        contact_phone="+8613800000002",
        contact_email=f"service@{domain}",
        official_domains=(domain,),
    )
    command = SubmitOrganization(
        uuid.uuid4(), profile, "admin-1", verified, AT, protected=registry.protected
    )
    events = decide_organization(Organization(), command)
    return [
        f"{e.domain}~{e.resembles}:{e.protected_brand}:{','.join(e.techniques)}"
        for e in events
        if isinstance(e, LookalikeDomainFlagged)
    ]


def test_the_seeds_flag_sh_byd_com_although_byd_has_no_verified_organization_here() -> None:
    assert submit("sh-byd.com", seeded()) == [f"sh-byd.com~byd.com:BYD:{T.BRAND_EMBEDDED}"]


@pytest.mark.parametrize(
    ("domain", "resembles", "brand"),
    [
        ("taobao-service.com", "taobao.com", "Alibaba"),
        ("rnicrosoft.com", "microsoft.com", "Microsoft"),
        ("huawei.cn", "huawei.com", "Huawei"),
        ("byd.com", "byd.com", "BYD"),  # the protected domain itself, claimed by a submitter
        ("mail.byd.com", "byd.com", "BYD"),
    ],
)
def test_lookalikes_of_protected_domains_are_flagged(
    domain: str, resembles: str, brand: str
) -> None:
    [flag] = submit(domain, seeded())
    assert flag.startswith(f"{domain}~{resembles}:{brand}:")


def test_unrelated_domains_are_not_flagged_and_verified_organizations_come_first() -> None:
    assert submit("qwertyuio.com", seeded()) == []
    # a verified organization's domain that it resembles: one flag, naming that domain
    [flag] = submit("sh-byd.com", seeded(), verified=("byd.com",))
    assert flag == f"sh-byd.com~byd.com:None:{T.BRAND_EMBEDDED}"
    assert submit("sh-byd.com", ProtectedDomains()) == []  # neither registry nor verified


def test_seeding_is_idempotent_and_a_removed_seed_is_not_brought_back() -> None:
    registry = seeded()
    assert registry.find("BYD.com.") is not None
    assert decide_protected_domains(registry, SeedProtectedDomains(SEEDS, AT)) == []
    removal = UnprotectDomain("byd.com", "the brand asked us to stop", "op-1", AT)
    [removed] = decide_protected_domains(registry, removal)
    assert isinstance(removed, ProtectedDomainRemoved)
    assert removed.brand == "BYD"
    registry = PROTECTED_DOMAINS.fold([removed], registry)
    assert registry.find("byd.com") is None
    assert decide_protected_domains(registry, SeedProtectedDomains(SEEDS, AT)) == []
    assert submit("sh-byd.com", registry) == []
    newer = (*SEEDS, ("Frontdesk", ("frontdesk.example",)))
    [added] = decide_protected_domains(registry, SeedProtectedDomains(newer, AT))
    assert isinstance(added, ProtectedDomainAdded)
    assert (added.domain, added.source) == ("frontdesk.example", ProtectionSource.SEED)


def test_operators_add_and_remove_domains() -> None:
    registry = seeded()
    [added] = decide_protected_domains(registry, ProtectDomain("Geely.com", "Geely", "op-1", AT))
    assert isinstance(added, ProtectedDomainAdded)
    assert (added.domain, added.source, added.added_by) == (
        "geely.com", ProtectionSource.OPERATOR, "op-1",
    )  # fmt: skip
    registry = PROTECTED_DOMAINS.fold([added], registry)
    assert decide_protected_domains(registry, ProtectDomain("geely.com", "Geely", "op-2", AT)) == []
    with pytest.raises(RuleViolation, match="already protected for Geely"):
        decide_protected_domains(registry, ProtectDomain("geely.com", "Other", "op-2", AT))
    with pytest.raises(NotFound):
        decide_protected_domains(registry, UnprotectDomain("nope.com", "not there", "op-1", AT))
    [flag] = submit("geely-auto.com", registry)
    assert flag.startswith("geely-auto.com~geely.com:Geely:")


def test_the_registry_state_round_trips_through_a_snapshot() -> None:
    registry = seeded()
    assert PROTECTED_DOMAINS.snapshots is not None
    adapter = PROTECTED_DOMAINS._state_adapter()
    assert adapter.validate_json(adapter.dump_json(registry)) == registry
