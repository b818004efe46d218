"""HTTP API of internal notes on a case (staff only; never shown to the customer)."""

from __future__ import annotations

import uuid
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from runtime.auth import Principal
from runtime.commands import IdempotencyKey
from runtime.service import Runtime
from services.cases.api.cases import CaseId, Staff, Workers, forbid_extra, idempotent_change
from services.cases.domain.case import AddNote
from services.cases.projections import case_views

router = APIRouter(tags=["cases"])


class NoteRequest(BaseModel):
    model_config = forbid_extra()

    text: str = Field(min_length=1, max_length=4000, description="Internal; never shown.")


@router.post("/cases/{case_id}/notes", status_code=201, summary="Add an internal note")
async def add_note(
    case_id: CaseId,
    body: NoteRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    note_id = uuid.uuid4()
    command = AddNote(note_id, body.text, runtime.clock.now())
    return await idempotent_change(
        runtime,
        principal,
        case_id,
        "note",
        idempotency_key,
        body,
        command,
        lambda c: {"note_id": str(note_id)},
    )


class NoteView(BaseModel):
    note_id: UUID
    author_id: str | None
    text: str | None
    added_at: AwareDatetime


@router.get(
    "/cases/{case_id}/notes",
    response_model=list[NoteView],
    summary="Internal notes (staff only)",
)
async def list_notes(
    case_id: CaseId, runtime: Runtime, principal: Annotated[Principal, Staff]
) -> list[NoteView]:
    rows = await case_views.notes_of(runtime.pool, case_id)
    return [NoteView.model_validate(row) for row in rows]
