"""Verification's request models hold to the input policy (issue 12): every list and string
bounded, no control characters, the one identifier pattern for account refs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from services.verification.api.ownership import OwnershipEvidenceRequest
from services.verification.api.sessions import StartSessionRequest
from services.verification.api.views import MEDIA_BASE64_MAX_CHARS, MediaUpload

pytestmark = pytest.mark.unit

SESSION = {
    "account_ref": "acct-1",
    "purpose": "account_recovery",
    "risk_level": "low",
    "person_role": "holder",
}


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (OwnershipEvidenceRequest, {"login_cities": ["x" * 101]}),
        (OwnershipEvidenceRequest, {"login_cities": ["Lhasa\u0000"]}),
        (OwnershipEvidenceRequest, {"vouching_contacts": ["y" * 101]}),
        (OwnershipEvidenceRequest, {"vouching_contacts": ["a\nb"]}),
        (OwnershipEvidenceRequest, {"device": "d" * 101}),
        (OwnershipEvidenceRequest, {"login_cities": ["c"] * 6}),
        (StartSessionRequest, {**SESSION, "account_ref": "acct 1"}),
        (StartSessionRequest, {**SESSION, "account_ref": "a" * 129}),
        (StartSessionRequest, {**SESSION, "person_ref": "p\u001b"}),
        (StartSessionRequest, {**SESSION, "person_ref": "p" * 201}),
        (
            MediaUpload,
            {
                "kind": "ownership_evidence",
                "content_type": "image/png",
                "content_base64": "A" * (MEDIA_BASE64_MAX_CHARS + 4),
            },
        ),
    ],
)
def test_out_of_bounds_requests_are_refused(model: type[BaseModel], body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(body)


def test_requests_within_the_bounds_pass() -> None:
    OwnershipEvidenceRequest.model_validate(
        {"device": "d" * 100, "login_cities": ["Lhasa"] * 5, "vouching_contacts": ["c" * 100]}
    )
    StartSessionRequest.model_validate({**SESSION, "account_ref": "a" * 128})
