"""Bearer-token (JWT) authentication and role checks for every endpoint but health checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, get_args

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.envelope import Actor, Role

ROLES: tuple[str, ...] = get_args(Role)
STAFF_ROLES = ("agent", "specialist", "supervisor", "reviewer", "admin")


class Unauthenticated(Exception):
    """No token, or one that is expired, forged or malformed (HTTP 401)."""


class Forbidden(Exception):
    """A valid caller without the role or the ownership the request needs (HTTP 403)."""


@dataclass(frozen=True)
class Principal:
    id: str
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        return self.has_any(*STAFF_ROLES, "service")

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

    def verify(self, token: str) -> Principal:
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
        roles = claims.get("roles")
        if not isinstance(roles, list) or not roles or not set(roles) <= set(ROLES):
            raise Unauthenticated(f"token roles must be a non-empty subset of {list(ROLES)}")
        return Principal(id=str(claims["sub"]), roles=frozenset(roles))

    def issue(self, subject: str, roles: list[str], ttl_seconds: int = 8 * 3600) -> str:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}")
        now = int(time.time())
        claims = {
            "sub": subject,
            "roles": roles,
            "iat": now,
            "exp": now + ttl_seconds,
            "iss": self.issuer,
            "aud": self.audience,
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False, description="JWT with `sub` and `roles` claims")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials)


def require_roles(*roles: str) -> object:
    """A dependency that admits callers having at least one of ``roles``."""
    allowed = set(roles)

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.roles.intersection(allowed):
            raise Forbidden(f"this needs one of the roles {sorted(allowed)}")
        return principal

    return Depends(check)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
