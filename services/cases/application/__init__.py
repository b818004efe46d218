"""application of the cases service."""
