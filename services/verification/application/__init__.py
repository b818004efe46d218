"""Verification's use cases: gather the facts (the account platform, the identity provider,
the bank, the write-side rows) once, then run the pure ``decide`` through the runtime's
repository — each inside the caller's transaction, with the timers and write-side rows the
aggregate's after-append hooks keep."""
