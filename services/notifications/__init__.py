"""Notifications: callbacks and messages on every channel."""
