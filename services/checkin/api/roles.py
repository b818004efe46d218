"""Who may call check-in's routes, and the context a caller's command runs in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from runtime.auth import STAFF_ROLES, Forbidden, Principal, require_roles
from runtime.context import CommandContext

ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
SiteId = Annotated[str, Path(max_length=64, pattern=ID)]

IssuerRoles = require_roles("customer", "agent", "supervisor", "admin", "service")
ViewerRoles = require_roles("customer", *STAFF_ROLES, "service")
StaffRoles = require_roles(*STAFF_ROLES)
DeskRoles = require_roles("agent", "specialist", "supervisor")
SupervisorRoles = require_roles("supervisor", "admin")
BoardRoles = require_roles(*STAFF_ROLES, "service")


def context_of(principal: Principal) -> CommandContext:
    return CommandContext.new(principal.actor())


def is_supervisor(principal: Principal) -> bool:
    return principal.has_any("supervisor", "admin")


def require_self_or_supervisor(principal: Principal, agent_id: str) -> None:
    if principal.id != agent_id and not is_supervisor(principal):
        raise Forbidden("agents act only for themselves; supervisors for anyone")
