"""Events published by the verification service on ``frontdesk.verification.sessions``.

The verification service's events arrive with its own issue; the topic exists from the start.
"""
