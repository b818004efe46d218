"""Shared runtime of the Frontdesk services: written once, imported by all four.

settings, telemetry and logs, PostgreSQL pool and migrations, the event store with its outbox,
the outbox relay, the consumer runner (with dead letters and rebuilds), Kafka set-up, auth,
HTTP errors and idempotency, and the service composition root.
"""
