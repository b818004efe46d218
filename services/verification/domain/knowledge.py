"""The knowledge challenge's rules: when a new challenge may be drawn, what an answer means.

The questions themselves are write-side rows (they quote account facts and are deleted when
the session ends), so the application gathers what the rows say into these value objects and
the session's ``decide`` applies the rules: a new challenge only once the last one can no
longer be passed, enough questions for the required right answers, one answer per question,
answers only to the latest challenge, a pass at the required count, an attempt per wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.verification.domain.refusals import Refusal

TOPICS = {
    "phone_last4": "the registered phone",
    "friend": "the friend list",
    "login_city": "past log-ins",
    "past_password": "a past password",
}


@dataclass(frozen=True)
class ChallengeSoFar:
    """The session's latest challenge: its number, its unanswered and right answers."""

    challenge_no: int
    unanswered: int
    right_answers: int


@dataclass(frozen=True)
class NewChallenge:
    """Facts for drawing a challenge: the latest one (if any) and the questions the account's
    facts allowed to build."""

    latest: ChallengeSoFar | None
    question_kinds: tuple[str, ...]
    required_correct: int

    @property
    def challenge_no(self) -> int:
        return self.latest.challenge_no + 1 if self.latest else 1

    def refusal(self) -> Refusal | None:
        latest, required = self.latest, self.required_correct
        reachable = latest is not None and latest.right_answers + latest.unanswered >= required
        if latest is not None and latest.unanswered and reachable:
            return Refusal.ANSWER_ASKED_QUESTIONS_FIRST
        if len(self.question_kinds) < required:
            return Refusal.TOO_FEW_ACCOUNT_FACTS
        return None

    def detail(self) -> str:
        return (
            f"challenge {self.challenge_no}: {len(self.question_kinds)} questions ("
            + ", ".join(self.question_kinds)
            + f"), {self.required_correct} right answers needed"
        )


@dataclass(frozen=True)
class Answer:
    """One answer and the facts around it: the question's kind, whether it was answered
    before, its challenge and the latest one, whether the answer is right (compared by the
    application: a keyed digest, or the platform's password check) and the challenge's
    counts before this answer."""

    kind: str
    answered_before: bool
    challenge_no: int
    latest_challenge_no: int
    correct: bool
    right_before: int
    unanswered_before: int
    questions: int
    required_correct: int

    def refusal(self) -> Refusal | None:
        if self.answered_before:
            return Refusal.QUESTION_ALREADY_ANSWERED
        if self.challenge_no != self.latest_challenge_no:
            return Refusal.QUESTION_FROM_EARLIER_CHALLENGE
        return None

    @property
    def right_answers(self) -> int:
        return self.right_before + (1 if self.correct else 0)

    @property
    def unanswered(self) -> int:
        return self.unanswered_before - 1

    @property
    def passes(self) -> bool:
        return self.correct and self.right_answers >= self.required_correct

    @property
    def exhausted(self) -> bool:
        """Too few questions left to pass the challenge."""
        return self.right_answers + self.unanswered < self.required_correct

    def pass_reason(self) -> str:
        return (
            f"{self.right_answers} of {self.questions} questions about the account "
            "answered correctly"
        )

    def failure_reason(self) -> str:
        return f"a wrong answer to a question about {TOPICS[self.kind]}"
