"""Run moto's S3 server handling one request at a time: `python -m tests.motoserve PORT`.

moto's own server answers requests in threads, and its conditional writes are a check followed by
a write: two writers racing for one key can both get 200 (seen in about one race in thirty here).
AWS documents If-None-Match and If-Match as atomic; one request at a time makes moto's the same.
"""

from __future__ import annotations

import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
