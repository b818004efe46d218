"""Local stand-ins for the external parties Frontdesk talks to (identity provider, message
providers, mail server, bank, account platform). Each speaks the same protocol as the real
party's documented interface, so the services' real adapters run against them in development
and tests; production refuses them (``runtime.service.Sandbox``)."""
