"""The e-mail notifier: SMTP (standard library) to DBSNAP_NOTIFY_EMAIL, server from DBSNAP_SMTP_*."""

from __future__ import annotations

import json
import logging
from typing import Any

from dbsnap.environ import environ
from dbsnap.hookspecs import hookimpl
from dbsnap.manifest import Snapshot
from dbsnap.notify import event
from dbsnap.redact import register_secret, scrub

log = logging.getLogger("dbsnap")
TIMEOUT = 15.0


def send(payload: dict[str, Any]) -> None:
    """Mail the event; a failure is logged as a warning and never raised."""
    env = environ()
    recipients = [r.strip() for r in env.get("DBSNAP_NOTIFY_EMAIL", "").split(",") if r.strip()]
    if not recipients:
        return
    import smtplib
    import ssl
    from email.message import EmailMessage

    host = env.get("DBSNAP_SMTP_HOST", "localhost").strip() or "localhost"
    tls = env.get("DBSNAP_SMTP_TLS", "starttls").strip().lower()
    port = int(
        env.get("DBSNAP_SMTP_PORT", "").strip() or (465 if tls == "ssl" else 587 if tls == "starttls" else 25)
    )
    user = env.get("DBSNAP_SMTP_USER", "").strip()
    password = env.get("DBSNAP_SMTP_PASSWORD", "")
    register_secret(password)
    message = EmailMessage()
    status = "FAILED" if payload["event"] in ("snapshot_failed", "drill_failed") else "ok"
    what = "restore drill" if payload["event"] == "drill_failed" else "backup"
    message["Subject"] = f"Database {what} {status}: {payload['database']} on {payload['host']}"
    message["From"] = env.get("DBSNAP_SMTP_FROM", "").strip() or f"dbsnap@{payload['host']}"
    message["To"] = ", ".join(recipients)
    message.set_content(json.dumps(payload, indent=2))
    try:
        if tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=TIMEOUT, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=TIMEOUT)
        with client:
            if tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if user:
                client.login(user, password)
            client.send_message(message)
    except Exception as exc:  # noqa: BLE001 - a notifier never fails the backup
        log.warning("Database backup: e-mail notification via %s:%d failed: %s", host, port, scrub(str(exc)))


@hookimpl
def dbsnap_snapshot_failed(
    database: str, error: BaseException, store: str | None, duration: float | None
) -> None:
    """Mail the failure."""
    send(event.failed(database, error, store, duration))


@hookimpl
def dbsnap_snapshot_finished(snapshot: Snapshot, store: str, duration: float | None) -> None:
    """Mail the success when DBSNAP_NOTIFY_EMAIL_ON_SUCCESS is true."""
    if event.success_wanted("DBSNAP_NOTIFY_EMAIL_ON_SUCCESS"):
        send(event.finished(snapshot, store, duration))


@hookimpl
def dbsnap_drill_failed(database: str, error: BaseException, store: str | None) -> None:
    """Mail the failed drill."""
    send(event.drill_failed(database, error, store))
