"""Bearer-token (JWT) authentication and role checks for every endpoint but health checks."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Annotated, get_args
from uuid import UUID

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.envelope import Actor, Role
from contracts.vocabulary import E164_PATTERN

ROLES: tuple[str, ...] = get_args(Role)
STAFF_ROLES = ("agent", "specialist", "supervisor", "reviewer", "admin")
# the roles an organization's own staff may hold in its contact centre (token claim ``org``)
ORGANIZATION_ROLES = ("agent", "specialist", "supervisor", "admin")
E164 = re.compile(E164_PATTERN)
# A token's subject: non-empty, bounded, printable ASCII without spaces (it becomes an actor id
# in events and logs)
SUBJECT = re.compile(r"^[A-Za-z0-9._:@+\-]{1,200}$")
MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600
# tokens verified once and remembered (a client sends the same token with every request)
VERIFIED_TOKENS_KEPT = 10_000


class Unauthenticated(Exception):
    """No token, or one that is expired, forged or malformed (HTTP 401)."""


class Forbidden(Exception):
    """A valid caller without the role or the ownership the request needs (HTTP 403)."""


@dataclass(frozen=True)
class Principal:
    id: str
    roles: frozenset[str]
    # the OpenID Connect standard claims phone_number + phone_number_verified: the platform's
    # sign-in proved this customer holds the number (E.164); None when not proved
    verified_phone: str | None = None
    # the verified organization whose contact centre this caller works in (token claim
    # ``org``); None: the platform's own staff, a customer or a service
    organization: UUID | None = None

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        return self.has_any(*STAFF_ROLES, "service")

    def works_for(self, organization_id: UUID | None) -> bool:
        """Whether this caller may see and act on a resource of ``organization_id`` (None: the
        platform's own service centre). An organization's staff work only in its contact
        centre, the platform's staff only in the platform's; a service (an integrating system)
        in every one. One organization never sees another's."""
        return "service" in self.roles or self.organization == organization_id

    def actor(self) -> Actor:
        order = (
            "admin",
            "supervisor",
            "reviewer",
            "specialist",
            "agent",
            "service",
            "system",
            "customer",
        )
        role = next(role for role in order if role in self.roles)
        return Actor(id=self.id, role=role)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TokenVerifier:
    secret: str
    issuer: str
    audience: str
    # the longest lifetime (exp - iat) a token may claim (FRONTDESK_JWT_MAX_LIFETIME_SECONDS)
    max_lifetime_seconds: int = MAX_TOKEN_LIFETIME_SECONDS
    # token -> (principal, valid from, valid until): a token's signature and claims are checked
    # once; a later request with the same token string only re-checks the time window
    _verified: dict[str, tuple[Principal, float, float]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            principal, valid_from, valid_until = known
            if valid_from <= time.time() < valid_until:
                return principal
            del self._verified[token]  # expired: the full check says why
        principal, valid_from, valid_until = self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = (principal, valid_from, valid_until)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float, float]:
        """The principal of a token and the window in which it is valid (PyJWT: ``iat`` and
        ``nbf`` not in the future, ``exp`` not reached)."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["sub", "exp", "iat"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"invalid bearer token: {error}") from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not SUBJECT.match(subject):
            raise Unauthenticated(
                "token claim sub must be 1 to 200 characters of letters, digits and ._:@+-"
            )
        issued, expires = claims["iat"], claims["exp"]
        if not all(isinstance(v, int | float) for v in (issued, expires)):
            raise Unauthenticated("token claims iat and exp must be numbers")
        if expires - issued > self.max_lifetime_seconds:
            raise Unauthenticated(
                f"token lifetime (exp - iat) exceeds the maximum of {self.max_lifetime_seconds} s"
            )
        if issued > time.time() + 300:
            raise Unauthenticated("token issued in the future (iat)")
        roles = claims.get("roles")
        if not isinstance(roles, list) or not roles or not set(roles) <= set(ROLES):
            raise Unauthenticated(f"token roles must be a non-empty subset of {list(ROLES)}")
        phone = claims.get("phone_number")
        verified = claims.get("phone_number_verified") is True
        if phone is not None and not (isinstance(phone, str) and E164.match(phone)):
            raise Unauthenticated("token claim phone_number must be an E.164 number")
        principal = Principal(
            id=subject,
            roles=frozenset(roles),
            verified_phone=phone if verified else None,
            organization=_organization(claims.get("org"), roles),
        )
        valid_from = max(int(issued), int(claims.get("nbf", issued)))
        return principal, valid_from, int(expires)

    def issue(
        self,
        subject: str,
        roles: list[str],
        ttl_seconds: int = 8 * 3600,
        *,
        verified_phone: str | None = None,
        organization: UUID | None = None,
    ) -> str:
        unknown = set(roles) - set(ROLES)
        if not SUBJECT.match(subject):
            raise ValueError("subject must be 1 to 200 characters of letters, digits and ._:@+-")
        if ttl_seconds > self.max_lifetime_seconds:
            raise ValueError(f"ttl_seconds exceeds the maximum of {self.max_lifetime_seconds}")
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}")
        if verified_phone is not None and not E164.match(verified_phone):
            raise ValueError("verified_phone must be an E.164 number")
        if organization is not None and not set(roles) <= set(ORGANIZATION_ROLES):
            raise ValueError(f"an organization's staff hold only {list(ORGANIZATION_ROLES)}")
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": subject,
            "roles": roles,
            "iat": now,
            "exp": now + ttl_seconds,
            "iss": self.issuer,
            "aud": self.audience,
        }
        if verified_phone is not None:
            claims |= {"phone_number": verified_phone, "phone_number_verified": True}
        if organization is not None:
            claims["org"] = str(organization)
        return jwt.encode(claims, self.secret, algorithm="HS256")


def _organization(claim: object, roles: list[str]) -> UUID | None:
    """The ``org`` claim: the organization whose staff the caller is, given by the platform's
    sign-in for an organization's administrators, supervisors and agents."""
    if claim is None:
        return None
    if not isinstance(claim, str) or len(claim) > 36:
        raise Unauthenticated("token claim org must be an organization id (a UUID)")
    try:
        organization = UUID(claim)
    except ValueError:
        raise Unauthenticated("token claim org must be an organization id (a UUID)") from None
    if not set(roles) <= set(ORGANIZATION_ROLES):
        raise Unauthenticated(
            f"token claim org is for an organization's staff: roles {list(ORGANIZATION_ROLES)}"
        )
    return organization


_bearer = HTTPBearer(
    auto_error=False,
    description="JWT with `sub` and `roles` claims (customers: optionally `phone_number` and "
    "`phone_number_verified`, the OpenID Connect standard claims of the platform's sign-in; "
    "an organization's staff: `org`, the organization id, which admits them to their "
    "organization's contact centre only)",
)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials)


def require_roles(*roles: str, organizations: bool = False) -> object:
    """A dependency that admits callers having at least one of ``roles``. An organization's
    staff (token claim ``org``) are refused unless ``organizations``: the route then serves
    organizations' contact centres too, and checks ``Principal.works_for`` on what it reads
    and changes."""
    allowed = set(roles)

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.roles.intersection(allowed):
            raise Forbidden(f"this needs one of the roles {sorted(allowed)}")
        if principal.organization is not None and not organizations:
            raise Forbidden(
                "an organization's staff work only in their organization's contact centre"
            )
        return principal

    check.allowed_roles = tuple(sorted(allowed))  # type: ignore[attr-defined]  # docs/api.md
    check.admits_organizations = organizations  # type: ignore[attr-defined]  # docs/api.md
    return Depends(check)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
