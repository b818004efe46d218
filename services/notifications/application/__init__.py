"""The use cases of notifications, one module per aggregate or use-case family: each gathers
the facts once, then runs the domain's pure ``decide`` through the runtime's repository
(``messages``, ``dispatch`` of due messages, ``callbacks``, ``queue_callbacks``,
``recipients`` with inbound replies, ``campaigns``); ``reactions`` to other services' events.
Beside this package, ``retention.py`` and ``subject_data.py``: how long data is kept, a
person's copy of their data and its erasure."""
