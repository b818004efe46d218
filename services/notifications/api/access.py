"""What every notifications router shares: strict bodies, the staff roles that call people,
and the audited staff read of a person's contact data or messages (docs/privacy.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from runtime.audit import record_access
from runtime.auth import Principal
from runtime.service import ServiceRuntime

CALLERS = ("agent", "specialist", "supervisor")
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def audit_read(
    runtime: ServiceRuntime,
    principal: Principal,
    subject_id: str | None,
    resource: str,
    resource_id: str,
    fields: list[str],
    purpose: str,
) -> None:
    """A staff read of a person's contact data or messages."""
    async with runtime.pool.acquire() as conn:
        await record_access(
            conn,
            runtime,
            principal,
            subject_id=subject_id,
            resource=resource,
            resource_id=resource_id,
            fields=fields,
            purpose=purpose,
        )
