"""The process-wide objects of the notifications service, built once from the environment:
its settings, the channel adapters and the dispatcher that uses them."""

from __future__ import annotations

from services.notifications.application import Dispatcher
from services.notifications.channels.configured import channels_from
from services.notifications.config import NotificationSettings

SETTINGS = NotificationSettings()
CHANNELS = channels_from(SETTINGS)
DISPATCHER = Dispatcher(SETTINGS, CHANNELS)
