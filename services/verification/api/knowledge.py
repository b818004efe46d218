"""The knowledge challenge: questions about the account, and the answers."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from runtime.auth import Principal
from runtime.commands import command
from runtime.limits import RateLimited
from runtime.service import Runtime
from services.verification.api.access import Participant, context_of, session_for
from services.verification.api.views import SessionView, session_view
from services.verification.application import knowledge
from services.verification.domain.texts import question_prompt
from services.verification.wiring import WiringDep

router = APIRouter(tags=["verification"])

SessionId = Annotated[UUID, Path(description="Verification session id")]


class QuestionView(BaseModel):
    question_id: UUID
    kind: str
    prompt: str = Field(description="In the session's language (zh-CN, en, fr, de or ja).")
    options: list[str] = Field(description="Empty: type the answer (a past password).")


class ChallengeView(BaseModel):
    questions: list[QuestionView]
    required_correct: int


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question_id: UUID
    answer: str = Field(min_length=1, max_length=200)


class AnswerView(BaseModel):
    correct: bool
    correct_answers: int
    required: int
    unanswered: int
    challenge_exhausted: bool = Field(
        description="Too few questions left to pass: ask for a new challenge (if not locked)."
    )
    session: SessionView


@router.post(
    "/verification/sessions/{verification_id}/knowledge-challenge",
    status_code=201,
    response_model=ChallengeView,
    summary="Questions about the account (multiple choice with decoys, or a past password)",
)
async def knowledge_challenge(
    verification_id: SessionId,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, Participant],
) -> ChallengeView:
    session = await session_for(runtime, principal, verification_id)
    questions = await knowledge.issue_knowledge_challenge(
        runtime.pool, runtime.store, wiring, session, runtime.clock.now(), context_of(principal)
    )
    language = session.language.tag if session.language is not None else None
    return ChallengeView(
        questions=[
            QuestionView(
                question_id=q.question_id,
                kind=q.kind,
                prompt=question_prompt(q.kind, language),
                options=q.options,
            )
            for q in questions
        ],
        required_correct=wiring.settings.knowledge_required_correct,
    )


@router.post(
    "/verification/sessions/{verification_id}/knowledge-challenge/answers",
    response_model=AnswerView,
    summary="Answer one question (a wrong answer counts against the attempt limit)",
    dependencies=[RateLimited("answers")],
)
async def answer(
    verification_id: SessionId,
    body: AnswerRequest,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, Participant],
) -> AnswerView:
    session = await session_for(runtime, principal, verification_id)
    context = context_of(principal)
    now = runtime.clock.now()
    verdict = await command(
        runtime.pool,
        lambda conn: knowledge.answer_question(
            conn, runtime.store, wiring, session, body.question_id, body.answer, now, context
        ),
    )
    return AnswerView(
        correct=verdict.correct,
        correct_answers=verdict.correct_answers,
        required=verdict.required,
        unanswered=verdict.unanswered,
        challenge_exhausted=verdict.challenge_exhausted,
        session=session_view(verdict.session),
    )
