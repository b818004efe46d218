"""What a person is told of the decision on their case. Pure, no I/O."""

from __future__ import annotations

from contracts.events.cases import DecisionRecorded


def decision_variables(decided: DecisionRecorded, public_url: str) -> dict[str, str]:
    """The ``case_decision`` message's variables: the outcome as its code (the template shows
    its label in the person's language), the explanation cases wrote in that language."""
    return {
        "case_ref": str(decided.case_id)[:8].upper(),
        "decision": decided.outcome.value,
        "explanation": decided.explanation or "",  # None: the account was erased
        "link": f"{public_url}/cases/{decided.case_id}",
    }
