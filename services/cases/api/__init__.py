"""api of the cases service."""
