"""Knowledge challenges: questions built from what the platform knows about the account, and
the two use cases (draw a challenge, answer a question) whose rules ``decide`` applies
(``domain/knowledge.py``).

Multiple-choice questions (the registered phone's last digits, a contact from the friend list,
a city of a past log-in) mix the right answer with decoys; a past password is typed and checked
against its stored hash by the facts provider. The right option of a question is kept only as
a keyed digest; the options themselves are shown to the person anyway.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from runtime.commands import command
from runtime.context import CommandContext
from runtime.errors import NotFound
from runtime.eventstore import EventStore
from services.verification.adapters.account_platform import AccountPlatform
from services.verification.application.digests import digest, matches, normalize_answer
from services.verification.application.facts import account_facts
from services.verification.application.sessions import change_session
from services.verification.domain.accounts import AccountFacts
from services.verification.domain.knowledge import Answer, ChallengeSoFar, NewChallenge
from services.verification.domain.sessions import (
    AnswerQuestion,
    BeginKnowledgeChallenge,
    Session,
)
from services.verification.domain.texts import question_prompt
from services.verification.wiring import Wiring


@dataclass(frozen=True)
class Question:
    question_id: uuid.UUID
    kind: str  # phone_last4 | friend | login_city | past_password
    prompt: str
    options: list[str]  # empty: a typed secret
    answer_digest: bytes | None  # None: checked by the facts provider (past password)


def answer_context(question_id: uuid.UUID) -> str:
    return f"knowledge|{question_id}"


async def build_challenge(
    facts: AccountFacts, provider: AccountPlatform, key: bytes, count: int
) -> list[Question]:
    seed = secrets.randbits(64)
    rng = random.Random(seed)  # noqa: S311 - shuffles options; the secret is the facts
    makers = []
    if facts.phone_last4:
        makers.append("phone_last4")
    if facts.friends:
        makers.append("friend")
    if facts.login_cities:
        makers.append("login_city")
    if facts.has_past_password:
        makers.append("past_password")
    if not makers:
        return []
    kinds = rng.sample(makers, len(makers))
    while len(kinds) < count:  # fewer kinds than questions: ask several of a kind
        kinds.append(rng.choice([k for k in makers if k != "past_password"] or makers))
    questions = []
    asked: dict[str, set[str]] = {}
    for kind in kinds[:count]:
        question_id = uuid.uuid4()
        used = asked.setdefault(kind, set())
        if kind == "past_password":
            if used:
                continue
            used.add("asked")
            questions.append(
                Question(
                    question_id,
                    kind,
                    question_prompt(kind, None),
                    [],
                    None,
                )
            )
            continue
        if kind == "phone_last4":
            assert facts.phone_last4 is not None
            right = facts.phone_last4
            decoys: set[str] = set()
            while len(decoys) < 3:
                candidate = f"{rng.randrange(10000):04d}"
                if candidate != right:
                    decoys.add(candidate)
            wrong = sorted(decoys)
        else:
            pool = facts.friends if kind == "friend" else facts.login_cities
            choices = [value for value in pool if value not in used]
            if not choices:
                continue
            right = rng.choice(choices)
            decoy_kind = "friend" if kind == "friend" else "city"
            wrong = await provider.decoys(decoy_kind, set(pool), 3, rng.getrandbits(32))
        used.add(right)
        options = [right, *wrong]
        rng.shuffle(options)
        questions.append(
            Question(
                question_id,
                kind,
                question_prompt(kind, None),
                options,
                digest(key, answer_context(question_id), normalize_answer(right)),
            )
        )
    return questions


# -- use cases ----------------------------------------------------------------------------------


async def issue_knowledge_challenge(
    pool: asyncpg.Pool,
    store: EventStore,
    wiring: Wiring,
    session: Session,
    now: datetime,
    context: CommandContext,
) -> list[Question]:
    """Draw a new challenge from the account's facts (fetched before the transaction)."""
    assert session.verification_id is not None
    verification_id = session.verification_id
    settings = wiring.settings
    facts = await account_facts(wiring, session)
    questions = await build_challenge(
        facts, wiring.facts, wiring.digest_key, settings.knowledge_questions
    )

    async def act(conn: asyncpg.Connection) -> list[Question]:
        latest = await conn.fetchrow(
            """SELECT challenge_no, count(*) FILTER (WHERE answered_at IS NULL) AS open,
                      count(*) FILTER (WHERE correct) AS right_answers
               FROM knowledge_questions WHERE verification_id = $1
               GROUP BY challenge_no ORDER BY challenge_no DESC LIMIT 1""",
            verification_id,
        )
        challenge = NewChallenge(
            latest=ChallengeSoFar(latest["challenge_no"], latest["open"], latest["right_answers"])
            if latest
            else None,
            question_kinds=tuple(q.kind for q in questions),
            required_correct=settings.knowledge_required_correct,
        )
        await change_session(
            conn, store, verification_id, BeginKnowledgeChallenge(challenge, now), context
        )
        for position, question in enumerate(questions):
            await conn.execute(
                """INSERT INTO knowledge_questions (question_id, verification_id, challenge_no,
                       position, kind, prompt, options, answer_digest)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                question.question_id,
                verification_id,
                challenge.challenge_no,
                position,
                question.kind,
                question.prompt,
                question.options,
                question.answer_digest,
            )
        return questions

    return await command(pool, act)


@dataclass(frozen=True)
class AnswerVerdict:
    correct: bool
    correct_answers: int
    required: int
    unanswered: int
    challenge_exhausted: bool
    session: Session


async def answer_question(
    conn: asyncpg.Connection,
    store: EventStore,
    wiring: Wiring,
    session: Session,
    question_id: UUID,
    given: str,
    now: datetime,
    context: CommandContext,
) -> AnswerVerdict:
    assert session.verification_id is not None
    verification_id = session.verification_id
    row = await conn.fetchrow(
        """SELECT q.kind, q.answer_digest, q.answered_at, q.challenge_no,
                  (SELECT max(challenge_no) FROM knowledge_questions
                   WHERE verification_id = q.verification_id) AS latest
           FROM knowledge_questions q WHERE q.question_id = $1 AND q.verification_id = $2
           FOR UPDATE""",
        question_id,
        verification_id,
    )
    if row is None:
        raise NotFound("no such question in this session")
    counts = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE correct) AS right_answers,
                  count(*) FILTER (WHERE answered_at IS NULL) AS open, count(*) AS total
           FROM knowledge_questions WHERE verification_id = $1 AND challenge_no = $2""",
        verification_id,
        row["challenge_no"],
    )
    answered_before = row["answered_at"] is not None
    if answered_before:
        correct = False  # refused by decide; nothing to compare
    elif row["kind"] == "past_password":
        correct = await wiring.facts.verify_past_password(session.account_ref or "", given)
    else:
        correct = matches(
            wiring.digest_key,
            answer_context(question_id),
            normalize_answer(given),
            row["answer_digest"],
        )
    answer = Answer(
        kind=row["kind"],
        answered_before=answered_before,
        challenge_no=row["challenge_no"],
        latest_challenge_no=row["latest"],
        correct=correct,
        right_before=counts["right_answers"],
        unanswered_before=counts["open"],
        questions=counts["total"],
        required_correct=wiring.settings.knowledge_required_correct,
    )
    executed = await change_session(
        conn, store, verification_id, AnswerQuestion(answer, now), context
    )
    await conn.execute(
        "UPDATE knowledge_questions SET answered_at = $2, correct = $3 WHERE question_id = $1",
        question_id,
        now,
        correct,
    )
    return AnswerVerdict(
        correct=correct,
        correct_answers=answer.right_answers,
        required=answer.required_correct,
        unanswered=answer.unanswered,
        challenge_exhausted=answer.exhausted,
        session=executed.state,
    )
