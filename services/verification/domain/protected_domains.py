"""The registry of protected brands and their domains: pure decisions and folds, no I/O.

Impersonators imitate well-known brands whether or not the brand has verified an organization
here (``sh-byd.com`` for ``byd.com``). Operators keep the list; the service starts with the
documented ``SEEDS`` (docs/services/verification.md) and adds a seed only once: a seed an
operator removed is not brought back at the next start. Organization submissions screen
their domains against ``ProtectedDomains.protected`` along with verified organizations'
domains (``domain/organizations.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from contracts.base import EventPayload
from contracts.events.verification_protected_domains import (
    ProtectedDomainAdded,
    ProtectedDomainRemoved,
    ProtectionSource,
)
from runtime.aggregate import AggregateType, Snapshots
from runtime.errors import NotFound, RuleViolation
from services.verification.domain.lookalike import normalize

REGISTRY_STREAM = "protected_domains-registry"
SEEDED_BY = "verification"

# (brand, its own domains): brands impersonated in the platform's markets; operators extend it
SEEDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("BYD", ("byd.com",)),
    ("Tencent", ("tencent.com", "qq.com", "wechat.com")),
    ("Alibaba", ("alibaba.com", "taobao.com", "tmall.com", "aliyun.com")),
    ("Ant Group", ("alipay.com", "antgroup.com")),
    ("JD.com", ("jd.com",)),
    ("Huawei", ("huawei.com",)),
    ("Xiaomi", ("xiaomi.com", "mi.com")),
    ("Baidu", ("baidu.com",)),
    ("ByteDance", ("bytedance.com", "douyin.com")),
    ("Meituan", ("meituan.com",)),
    ("Pinduoduo", ("pinduoduo.com",)),
    ("NetEase", ("netease.com", "163.com")),
    ("Industrial and Commercial Bank of China", ("icbc.com.cn",)),
    ("China Mobile", ("10086.cn",)),
    ("Microsoft", ("microsoft.com",)),
    ("Apple", ("apple.com",)),
)


@dataclass(frozen=True)
class Protected:
    domain: str
    brand: str
    source: ProtectionSource


@dataclass(frozen=True)
class ProtectedDomains:
    entries: dict[str, Protected] = field(default_factory=dict)
    seeded: frozenset[str] = frozenset()  # every domain ever added from the seeds

    def find(self, domain: str) -> Protected | None:
        return self.entries.get(normalize(domain))

    @property
    def protected(self) -> tuple[Protected, ...]:
        return tuple(self.entries[domain] for domain in sorted(self.entries))


@dataclass(frozen=True)
class SeedProtectedDomains:
    seeds: tuple[tuple[str, tuple[str, ...]], ...]
    at: datetime


@dataclass(frozen=True)
class ProtectDomain:
    domain: str
    brand: str
    operator_id: str
    at: datetime


@dataclass(frozen=True)
class UnprotectDomain:
    domain: str
    reason: str
    operator_id: str
    at: datetime


ProtectedDomainsCommand = SeedProtectedDomains | ProtectDomain | UnprotectDomain


def decide_protected_domains(
    registry: ProtectedDomains, command: ProtectedDomainsCommand
) -> list[EventPayload]:
    match command:
        case SeedProtectedDomains():
            return [
                ProtectedDomainAdded(
                    domain=domain,
                    brand=brand,
                    source=ProtectionSource.SEED,
                    added_by=SEEDED_BY,
                    added_at=command.at,
                )
                for brand, domains in command.seeds
                for domain in dict.fromkeys(normalize(d) for d in domains)
                if domain not in registry.seeded and domain not in registry.entries
            ]
        case ProtectDomain():
            domain = normalize(command.domain)
            existing = registry.entries.get(domain)
            if existing is not None:
                if existing.brand == command.brand:
                    return []  # already protected for this brand: nothing to do
                raise RuleViolation(f"{domain} is already protected for {existing.brand}")
            return [
                ProtectedDomainAdded(
                    domain=domain,
                    brand=command.brand,
                    source=ProtectionSource.OPERATOR,
                    added_by=command.operator_id,
                    added_at=command.at,
                )
            ]
        case UnprotectDomain():
            domain = normalize(command.domain)
            removed = registry.entries.get(domain)
            if removed is None:
                raise NotFound(f"{domain} is not a protected domain")
            return [
                ProtectedDomainRemoved(
                    domain=domain,
                    brand=removed.brand,
                    reason=command.reason,
                    removed_by=command.operator_id,
                    removed_at=command.at,
                )
            ]


def evolve_protected_domains(registry: ProtectedDomains, event: EventPayload) -> ProtectedDomains:
    match event:
        case ProtectedDomainAdded():
            seeded = registry.seeded
            if event.source is ProtectionSource.SEED:
                seeded = seeded | {event.domain}
            entry = Protected(event.domain, event.brand, event.source)
            return replace(
                registry, entries={**registry.entries, event.domain: entry}, seeded=seeded
            )
        case ProtectedDomainRemoved():
            entries = {d: p for d, p in registry.entries.items() if d != event.domain}
            return replace(registry, entries=entries)
    return registry


PROTECTED_DOMAINS = AggregateType[ProtectedDomains](
    "protected_domains",
    ProtectedDomains,
    evolve_protected_domains,
    snapshots=Snapshots(version=1),  # one stream for years of operators' changes
)
