"""The four Frontdesk services. None imports another: they talk through events and HTTP."""
