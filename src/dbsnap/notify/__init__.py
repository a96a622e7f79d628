"""Notification plugins on the event hooks: a webhook and e-mail."""
