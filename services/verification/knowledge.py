"""Knowledge challenges: questions built from what the platform knows about the account.

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

from services.verification.adapters.facts import AccountFacts, AccountFactsProvider
from services.verification.digests import digest, normalize_answer


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
    facts: AccountFacts, provider: AccountFactsProvider, key: bytes, count: int
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
                    "Type a password this account used before (not the current one).",
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
            prompt = "Which are the last four digits of the phone number registered on the account?"
            wrong = sorted(decoys)
        else:
            pool = facts.friends if kind == "friend" else facts.login_cities
            choices = [value for value in pool if value not in used]
            if not choices:
                continue
            right = rng.choice(choices)
            decoy_kind = "friend" if kind == "friend" else "city"
            wrong = await provider.decoys(decoy_kind, set(pool), 3, rng.getrandbits(32))
            prompt = (
                "Which of these people is in the account's friend list?"
                if kind == "friend"
                else "From which of these cities was the account used recently?"
            )
        used.add(right)
        options = [right, *wrong]
        rng.shuffle(options)
        questions.append(
            Question(
                question_id,
                kind,
                prompt,
                options,
                digest(key, answer_context(question_id), normalize_answer(right)),
            )
        )
    return questions
