"""A fuzzing layer (issue 12): schemathesis generates requests from each service's OpenAPI
document, sent in-process over ASGI to the running stack with a token of each role in turn;
no answer may be a 5xx, and every answer must be documented (status, content type, schema).

Bounded to fit CI: ``FUZZ_EXAMPLES`` examples per operation (10; fewer for a quick run),
derandomized (the same requests every run), the roles taking turns across an operation's
examples."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.openapi import from_dict

from runtime.auth import ROLES
from tests.conftest import SERVICES
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# What the fuzzer finds in the services and is not fixed yet, with why (issue 12 follow-ups):
# the test fails when one of these is fixed too, so the list stays true.
KNOWN: dict[str, str] = {
    # no peer listens in this in-process stack: the copy of a person's data, gathered from
    # every service over HTTP, is refused with 503 + Retry-After (documented), never a 500
    "cases GET /privacy/my-data": "peers unreachable here: 503 with Retry-After",
    "cases GET /privacy/subjects/{subject_id}/export": "peers unreachable here: 503",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def examples_of(operation: Any) -> list[Case]:
    collected: list[Case] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def collect(case: Case) -> None:
        collected.append(case)

    collect()
    return collected[:EXAMPLES]


def generated_cases(document: dict[str, Any]) -> list[Case]:
    schema = from_dict(document)
    # an operation schemathesis cannot read is an error here (ok() raises it)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    return [
        case
        for operation in operations
        if not _left_out(operation)
        for case in examples_of(operation)
    ]


def _left_out(operation: Any) -> bool:
    """Server-sent event streams answer for minutes (a client reconnects): they have tests of
    their own (tests/unit/test_streams.py, tests/integration/checkin/test_live.py). /readyz's
    503 is its meaning on a machine too busy to answer in 0.4 s (tests/unit/test_readiness)."""
    path = str(operation.path)
    return path.endswith("/live") or path == "/readyz"


@pytest.mark.parametrize("service", SERVICES)
async def test_fuzzed_requests_get_no_5xx_and_documented_answers(
    stack: dict[str, RunningService], token: Any, service: str
) -> None:
    running = stack[service]
    document = running.app.openapi()
    tokens = [token(role, sub=f"fuzz-{role}") for role in ROLES]
    failures: dict[str, str] = {}
    for n, case in enumerate(generated_cases(document)):
        kwargs = case.as_transport_kwargs(base_url=str(running.client.base_url))
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Authorization"] = f"Bearer {tokens[n % len(tokens)]}"
        kwargs.pop("timeout", None)
        kwargs.pop("allow_redirects", None)
        try:
            response = await running.client.request(
                kwargs.pop("method"),
                kwargs.pop("url"),
                headers=headers,
                params=kwargs.pop("params", None),
                json=kwargs.pop("json", None),
                content=kwargs.pop("data", None) or kwargs.pop("content", None),
            )
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as error:  # the first failure per operation
            key = f"{service} {case.method} {case.path}"
            failures.setdefault(key, f"{type(error).__name__}: {str(error)[:300]}")
    known = {key for key in KNOWN if key.startswith(f"{service} ")}
    unexpected = {k: v for k, v in failures.items() if k not in known}
    assert unexpected == {}, "\n".join(f"{k}: {v}" for k, v in sorted(unexpected.items()))
    assert known <= set(failures), f"fixed, remove from KNOWN: {sorted(known - set(failures))}"
    for key in known:  # refused as unavailable, never an unexpected error
        assert "[503]" in failures[key], failures[key]
        assert "[500]" not in failures[key], failures[key]
