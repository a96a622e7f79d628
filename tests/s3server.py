"""An S3-API server on a loopback port for the tests: moto's server mode, in its own process."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import attrs

from tests.pgserver import free_port


@attrs.define
class S3Server:
    """A running moto server and the bucket the tests use."""

    server: subprocess.Popen[bytes]
    endpoint: str
    bucket: str

    def env(self) -> dict[str, str]:
        """The AWS tools' variables that point dbsnap (and boto3) at this server."""
        return {
            "AWS_ACCESS_KEY_ID": "dbsnap-test-key",
            "AWS_SECRET_ACCESS_KEY": "dbsnap-test-SECRET-s3",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": self.endpoint,
        }

    def url(self, prefix: str = "") -> str:
        """An s3:// URL under the session's bucket (a fresh prefix when none is given)."""
        return f"s3://{self.bucket}/{prefix or 'store-' + secrets.token_hex(4)}"

    def stop(self) -> None:
        """Stop the server."""
        self.server.terminate()
        try:
            self.server.wait(10)
        except subprocess.TimeoutExpired:
            self.server.kill()


def start_s3() -> S3Server:
    """Start moto's server in its own process on a free loopback port; create the session's bucket.

    Its own process, not a thread of the tests: a server sharing the client's interpreter lock
    would measure Python's GIL, not dbsnap. One request at a time (tests/motoserve.py), so that
    its conditional writes are atomic, as AWS documents them.
    """
    import boto3

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.motoserve", str(port)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)
    found = S3Server(server, endpoint, f"dbsnap-{secrets.token_hex(4)}")
    env = found.env()
    client = boto3.client(
        "s3",
        endpoint_url=found.endpoint,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    client.create_bucket(Bucket=found.bucket)
    return found
