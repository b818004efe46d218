"""Every service's OpenAPI document renders (so /docs works) and every route but the health
checks and API descriptions demands a bearer token."""

from __future__ import annotations

import pytest

from runtime.cli import SERVICES, definition_of
from runtime.service import create_app

pytestmark = pytest.mark.unit
OPEN = {"/healthz", "/readyz", "/asyncapi.json"}


@pytest.mark.parametrize("service", SERVICES)
def test_the_openapi_document_renders_and_routes_are_protected(service: str) -> None:
    document = create_app(definition_of(service)).openapi()
    assert document["info"]["title"].lower().replace("-", "").endswith(service)
    unprotected = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if path not in OPEN and not operation.get("security")
    ]
    webhooks = [entry for entry in unprotected if "webhook" in entry or "receipt" in entry]
    webhooks += [e for e in unprotected if e.endswith(" /notifications/unsubscribe")]  # signed link
    assert sorted(set(unprotected) - set(webhooks)) == [], (
        "routes without bearer auth (webhooks authenticate by signature instead)"
    )
