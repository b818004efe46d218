"""The input policy, written once (issue 12): what any value in a contract may be.

Every event payload is checked when it is built (the producer's side, before it is appended):

- every string is bounded (``MAX_TEXT`` characters unless its field says less) and free of NUL
  and control characters; tab, newline and carriage return are text (free text keeps them);
- every number is finite (no NaN, no infinity) and bounded (``MAX_NUMBER``; integers within
  the JSON-safe range), every date and time within years ``MIN_YEAR``..``MAX_YEAR``;
- identifiers (account refs, subject ids, holder refs) follow ONE pattern, ``IDENTIFIER``:
  1 to 128 characters, no whitespace, no control characters — the same at intake, in every
  contract and in the privacy endpoints (``SUBJECT_ID`` is ``kind:`` + an identifier).

The HTTP edge (runtime/http.py) refuses the same characters and non-finite numbers in every
request body before a route sees it; the services' request models bound each field tighter.

History is read as written: a payload decoded from the store or from Kafka
(``contracts.registry.decode``, validation context ``STORED``) is not re-checked against these
bounds, so tightening a bound never makes an already-written event unreadable (the catalogue's
rule: a reader must accept every event of its version). That is why the checks here are
validators that look at the context rather than schema constraints, and why the schemas
document the bounds (``maxLength``, ``pattern``) without the compatibility check treating them as
a change of type.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, ValidationInfo

MAX_TEXT = 20_000
MAX_NUMBER = 1e15
MAX_INTEGER = 2**53 - 1
MIN_YEAR, MAX_YEAR = 1900, 2200
STORED: dict[str, Any] = {"frontdesk_stored": True}
"""Validation context of payloads read back from the store or from Kafka."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAK = re.compile(r"[\n\r\t]")
IDENTIFIER_BODY = r"[^\s\x00-\x1f\x7f-\x9f]{1,128}"
IDENTIFIER = rf"^{IDENTIFIER_BODY}$"
SUBJECT_ID = rf"^[a-z_]{{1,40}}:{IDENTIFIER_BODY}$"
_IDENTIFIER = re.compile(IDENTIFIER)


def stored(info: ValidationInfo | None) -> bool:
    context = info.context if info is not None else None
    return isinstance(context, dict) and bool(context.get("frontdesk_stored"))


def policy_problems(value: Any, path: str = "", max_text: int = MAX_TEXT) -> list[str]:
    """Where ``value`` (a model, or anything inside one) breaks the policy."""
    problems: list[str] = []
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if len(node) > max_text:
                problems.append(f"{where}: longer than {max_text} characters")
            if _CONTROL.search(node):
                problems.append(f"{where}: contains a NUL or control character")
        elif isinstance(node, bool):
            continue
        elif isinstance(node, int):
            if abs(node) > MAX_INTEGER:
                problems.append(f"{where}: beyond ±{MAX_INTEGER}")
        elif isinstance(node, float):
            if not math.isfinite(node) or abs(node) > MAX_NUMBER:
                problems.append(f"{where}: not a finite number within ±{MAX_NUMBER:g}")
        elif isinstance(node, datetime | date):
            if not MIN_YEAR <= node.year <= MAX_YEAR:
                problems.append(f"{where}: year outside {MIN_YEAR}..{MAX_YEAR}")
        elif isinstance(node, BaseModel):
            prefix = f"{where}." if where else ""
            stack.extend((v, f"{prefix}{k}") for k, v in node.__dict__.items())
        elif isinstance(node, dict):
            prefix = f"{where}." if where else ""
            stack.extend((v, f"{prefix}{k}") for k, v in node.items())
        elif isinstance(node, list | tuple | set | frozenset):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(node))
    return problems


# -- the annotated types ------------------------------------------------------------------------


def _text(max_length: int, *, single_line: bool) -> Any:
    def check(value: str, info: ValidationInfo) -> str:
        if stored(info):
            return value
        if len(value) > max_length:
            raise ValueError(f"at most {max_length} characters")
        if _CONTROL.search(value) or (single_line and _LINE_BREAK.search(value)):
            raise ValueError("must not contain NUL, control characters or line breaks")
        return value

    return check


def PlainText(max_length: int = 200) -> Any:
    """One line of text: at most ``max_length`` characters, no line breaks, no controls."""
    return Annotated[
        str,
        AfterValidator(_text(max_length, single_line=True)),
        Field(json_schema_extra={"maxLength": max_length}),
    ]


def FreeText(max_length: int = 4000) -> Any:
    """Text that may keep newlines and tabs; at most ``max_length`` characters. When it is
    personal data, mark the field with ``PersonalData`` (it is sealed; the bound applies to
    the plain text)."""
    return Annotated[
        str,
        AfterValidator(_text(max_length, single_line=False)),
        Field(json_schema_extra={"maxLength": max_length}),
    ]


# The bounds in use, as static aliases (type checkers need them spelled out)
PlainText35 = Annotated[
    str, AfterValidator(_text(35, single_line=True)), Field(json_schema_extra={"maxLength": 35})
]
PlainText200 = Annotated[
    str, AfterValidator(_text(200, single_line=True)), Field(json_schema_extra={"maxLength": 200})
]
FreeText100 = Annotated[
    str, AfterValidator(_text(100, single_line=False)), Field(json_schema_extra={"maxLength": 100})
]
FreeText200 = Annotated[
    str, AfterValidator(_text(200, single_line=False)), Field(json_schema_extra={"maxLength": 200})
]
FreeText500 = Annotated[
    str, AfterValidator(_text(500, single_line=False)), Field(json_schema_extra={"maxLength": 500})
]
FreeText2000 = Annotated[
    str,
    AfterValidator(_text(2000, single_line=False)),
    Field(json_schema_extra={"maxLength": 2000}),
]
FreeText8000 = Annotated[
    str,
    AfterValidator(_text(8000, single_line=False)),
    Field(json_schema_extra={"maxLength": 8000}),
]


def _identifier(value: str, info: ValidationInfo) -> str:
    if not stored(info) and not _IDENTIFIER.match(value):
        raise ValueError("an identifier is 1 to 128 characters without spaces or controls")
    return value


Identifier = Annotated[
    str, AfterValidator(_identifier), Field(json_schema_extra={"pattern": IDENTIFIER})
]
"""Account refs, holder refs, the id part of a subject id: one pattern everywhere."""


_SUBJECT_ID = re.compile(SUBJECT_ID)


def _subject_id(value: str, info: ValidationInfo) -> str:
    if not stored(info) and not _SUBJECT_ID.match(value):
        raise ValueError("a subject id is kind:identifier, e.g. account:acct-42")
    return value


SubjectId = Annotated[
    str, AfterValidator(_subject_id), Field(json_schema_extra={"pattern": SUBJECT_ID})
]
"""Whose personal data: ``account:<identifier>`` (contracts.base.EventPayload.data_subject)."""


def subject_or_fallback(
    payload: dict[str, Any], account_path: str, fallback_kind: str, fallback_path: str
) -> str | None:
    """``account:<ref>`` when the payload names the account; else the subject of the entity
    (``ticket:<id>``): a transition for producers that do not pass the account yet — the
    text is still sealed, under that entity's own key."""
    account, entity = payload.get(account_path), payload.get(fallback_path)
    if account:
        return f"account:{account}"
    return f"{fallback_kind}:{entity}" if entity else None


def Bounded(ge: float, le: float, kind: type = float) -> Any:
    """A finite number (``kind``: int or float) within [ge, le] (written ones; stored ones
    are read as they are)."""

    def check(value: float, info: ValidationInfo) -> float:
        if stored(info):
            return value
        if not math.isfinite(value) or not ge <= value <= le:
            raise ValueError(f"must be a finite number from {ge:g} to {le:g}")
        return value

    return Annotated[
        kind,
        AfterValidator(check),
        Field(json_schema_extra={"minimum": ge, "maximum": le}),
    ]


WEEK_MINUTES = 7 * 24 * 60
Minutes = Bounded(0, WEEK_MINUTES, int)
"""A duration in whole minutes of a queue or site setting: 0 to a week."""
FractionalMinutes = Bounded(0, WEEK_MINUTES)
"""A duration in minutes that may have a fraction: finite, 0 to a week."""
Seconds = Bounded(0, 7 * 24 * 3600, int)
"""A duration in whole seconds of a setting: 0 to a week."""
Count = Bounded(0, 1000, int)
"""A small count of a setting (recalls, attempts): 0 to 1000."""


def MaxItems(max_items: int) -> Any:
    """A list of at most ``max_items`` entries when written (stored ones are read as they are);
    annotate ``Annotated[list[X], MaxItems(n)]``."""

    def check(value: list[Any], info: ValidationInfo) -> list[Any]:
        if not stored(info) and len(value) > max_items:
            raise ValueError(f"at most {max_items} entries")
        return value

    return AfterValidator(check)
