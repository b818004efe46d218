"""The services that make up Frontdesk, by name, and their definitions."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing only: the definitions are imported by name, at call time
    from runtime.service import ServiceDefinition

SERVICES = ("checkin", "cases", "verification", "notifications")


def definition_of(service: str) -> ServiceDefinition:
    """A service's definition (``services/<name>/bootstrap.py``'s DEFINITION)."""
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    definition: ServiceDefinition = importlib.import_module(
        f"services.{service}.bootstrap"
    ).DEFINITION
    return definition
