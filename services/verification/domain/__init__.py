"""Verification's domain: pure rules and aggregates, no I/O, no clock reads."""

from services.verification.domain.plans import REQUIRED_CHECKS, Check, required_checks

__all__ = ["REQUIRED_CHECKS", "Check", "required_checks"]
