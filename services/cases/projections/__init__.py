"""projections of the cases service."""
