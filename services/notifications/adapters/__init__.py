"""The external parties notifications talks to, behind interfaces: the channels a rendered
message leaves by (``channels``: the interface; ``smtp`` for email, ``http_provider`` for SMS,
WeChat and QQ — the interface the sandboxes in ``sandboxes/`` also speak) and verification's
one-time code claim (``code_claims``)."""
