"""Integrations with application frameworks (Django, Celery); each is an optional extra."""
