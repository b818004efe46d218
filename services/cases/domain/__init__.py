"""domain of the cases service."""
