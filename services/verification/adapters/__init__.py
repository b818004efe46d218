"""Adapters to the parties verification relies on: the account platform's facts, identity
providers, banks. Each is an interface (a Protocol) plus a clearly named local sandbox."""
