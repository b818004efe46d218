"""Base class of event payloads and the personal-data marker."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from contracts.fields import policy_problems, stored

PERSONAL_DATA_KEY = "x-personal-data"


def PersonalData(description: str, **kwargs: Any) -> Any:
    """Mark a payload field as personal data (name, phone, email, free text, address, id number).

    Marked fields are listed in the JSON Schema (``x-personal-data: true``) and in EVENTS.md, and
    are what the privacy layer encrypts with the data subject's key before an event leaves its
    service.
    """
    return Field(description=description, json_schema_extra={PERSONAL_DATA_KEY: True}, **kwargs)


class EventPayload(BaseModel):
    """A versioned event payload. Subclasses are registered with ``@REGISTRY.event``.

    Consumers tolerate fields they do not know (``extra="ignore"``), so adding an optional field
    is a compatible change; removing, retyping or adding a required field needs a new version.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[int]
    stream_type: ClassVar[str]
    # Whose personal data the payload carries: (kind, dotted path of the id field), e.g.
    # ("account", "intake.account_ref") -> subject id "account:<value>". Required when the
    # payload has personal-data fields.
    data_subject: ClassVar[tuple[str, str] | None] = None

    @model_validator(mode="after")
    def _input_policy(self, info: ValidationInfo) -> EventPayload:
        """contracts/fields.py: every string bounded and free of controls, every number finite
        and bounded, every date within bounds, when the payload is written (not re-checked
        when read back: ``STORED``)."""
        if not stored(info):
            problems = policy_problems(self)
            if problems:
                raise ValueError(f"{self.event_type}: {'; '.join(sorted(problems))}")
        return self

    @property
    def data_subject_id(self) -> str | None:
        """Whose personal data this payload carries (``account:acct-42``), if anyone's. As
        ``data_subject_of`` finds it in the payload's JSON form; when the class keeps the
        common rule, read along the path instead of dumping the whole payload (a projection
        asks it of each event it replays)."""
        cls = type(self)
        if cls.data_subject_of.__func__ is not _DATA_SUBJECT_OF:  # type: ignore[attr-defined]
            return cls.data_subject_of(self.model_dump(mode="json"))
        if cls.data_subject is None:
            return None
        kind, path = cls.data_subject
        value: Any = self
        for part in path.split("."):
            if isinstance(value, BaseModel):
                value = getattr(value, part, None)
            else:
                value = value.get(part) if isinstance(value, dict) else None
        return cls._subject(kind, to_jsonable_python(value))

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        """The data subject of a payload (as a dict), or None when it names nobody."""
        if cls.data_subject is None:
            return None
        kind, path = cls.data_subject
        value: Any = payload
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return cls._subject(kind, value)

    @staticmethod
    def _subject(kind: str, value: Any) -> str | None:
        if not value:
            return None
        return f"{kind}:{value}" if kind else str(value)  # no kind: the path holds a subject id


_DATA_SUBJECT_OF = EventPayload.data_subject_of.__func__  # type: ignore[attr-defined]


def _is_personal(info: FieldInfo) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get(PERSONAL_DATA_KEY))


def personal_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of the personal-data fields of a model, nested models included."""
    paths: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        if _is_personal(info):
            paths.append(path)
            continue
        annotation = info.annotation
        for candidate in _model_types(annotation):
            paths.extend(personal_fields(candidate, prefix=f"{path}."))
    return paths


def _model_types(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_model_types(arg))
    return found
