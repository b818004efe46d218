"""Verification: identity and ownership checks, guardians, organizations."""
