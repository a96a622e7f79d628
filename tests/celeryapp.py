"""The Celery app the worker test runs: Redis broker and result backend, its own queue."""

from __future__ import annotations

import os

from celery import Celery

app = Celery(
    "dbsnaptest",
    broker=os.environ.get("DBSNAP_TEST_BROKER", "redis://127.0.0.1:6379/0"),
    backend=os.environ.get("DBSNAP_TEST_BROKER", "redis://127.0.0.1:6379/0"),
)
app.conf.task_default_queue = os.environ.get("DBSNAP_TEST_QUEUE", "dbsnap-test")
app.conf.worker_prefetch_multiplier = 1
app.conf.broker_connection_retry_on_startup = True
app.conf.imports = ["dbsnap.contrib.celery"]
if os.environ.get("DBSNAP_TEST_DRILL_EVERY"):
    # The drill task every few seconds instead of weekly, so the beat test sees it run.
    app.conf.beat_schedule = {
        "dbsnap-test-drill": {
            "task": "dbsnap.contrib.celery.drill_database",
            "schedule": float(os.environ["DBSNAP_TEST_DRILL_EVERY"]),
            "options": {"queue": os.environ.get("DBSNAP_TEST_QUEUE", "dbsnap-test")},
        }
    }
