"""adapters of the cases service."""
