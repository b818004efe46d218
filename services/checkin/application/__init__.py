"""Check-in's use cases: gather the facts once, run the one command path (``runtime.repository``)
with the pure ``decide`` of the domain."""
