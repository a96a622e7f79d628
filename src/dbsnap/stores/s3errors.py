"""S3 errors translated in one place: lost conditional writes, missing buckets, credentials, outages.

s3fs turns botocore's errors into OSErrors, and servers differ in how they answer a conditional
write that loses: AWS and moto answer an existing key with 412 PreconditionFailed, which s3fs makes
a FileExistsError for If-None-Match and an OSError(EINVAL) for If-Match; others answer 409
ConditionalRequestConflict. The botocore error s3fs keeps as the cause tells them apart.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from dbsnap.exceptions import MissingExtraError, StoreError

P = ParamSpec("P")
R = TypeVar("R")
EXTRA = "s3:// stores need s3fs: pip install 'dbsnap[s3]'"
CONFLICTS = {"PreconditionFailed", "ConditionalRequestConflict"}
_AUTH = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "AllAccessDisabled",
}


def s3fs_module() -> Any:
    """Return the s3fs module, or raise MissingExtraError naming the extra."""
    try:
        import s3fs
    except ImportError:
        raise MissingExtraError(EXTRA) from None
    return s3fs


def _code(exc: BaseException) -> tuple[str, int]:
    """Return the S3 error code and HTTP status behind `exc` (from itself or the error it wraps)."""
    for candidate in (exc, exc.__cause__, exc.__context__):
        response = getattr(candidate, "response", None)
        if isinstance(response, dict):
            error = response.get("Error", {})
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            return str(error.get("Code", "")), int(status or 0)
    return "", 0


def is_conflict(exc: BaseException) -> bool:
    """Tell whether `exc` is a conditional write that lost (the key exists, or changed)."""
    if isinstance(exc, FileExistsError):
        return True
    code, status = _code(exc)
    return code in CONFLICTS or status in (409, 412)


def is_missing(exc: BaseException) -> bool:
    """Tell whether `exc` says the key (not the bucket) does not exist."""
    code, status = _code(exc)
    if code == "NoSuchBucket":
        return False
    return code in ("NoSuchKey", "NoSuchUpload", "404") or status == 404 or isinstance(exc, FileNotFoundError)


def translate(exc: BaseException, url: str, bucket: str) -> BaseException:
    """Turn an s3fs/botocore error into a one-line StoreError that says what to do; others pass."""
    if isinstance(exc, StoreError | FileExistsError) or not isinstance(exc, Exception):
        return exc
    code, status = _code(exc)
    name = type(exc).__name__
    if code == "NoSuchBucket" or (name == "FileNotFoundError" and "bucket" in str(exc).lower()):
        return StoreError(
            f"bucket {bucket!r} of {url} does not exist; create it (dbsnap never creates buckets)"
        )
    if code in _AUTH or status == 403 or isinstance(exc, PermissionError):
        return StoreError(
            f"access to {url} was denied ({code or exc}); check the AWS credentials (AWS_ACCESS_KEY_ID, "
            "AWS_PROFILE) and the bucket's policy"
        )
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return StoreError(
            f"no AWS credentials for {url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        )
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError") or isinstance(
        exc, ConnectionError | TimeoutError
    ):
        return StoreError(f"cannot reach the S3 service of {url}: {exc}; is the endpoint right and up?")
    if isinstance(exc, OSError) and exc.errno == errno.EINVAL and not code:
        return StoreError(f"S3 refused a request on {url}: {exc}")
    return StoreError(f"S3 error on {url}: {code or name}: {exc}")


def translated(
    *, conflict: type[Exception] | None = None, missing: type[Exception] | None = FileNotFoundError
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Translate an S3 method's errors at the boundary: a lost condition becomes `conflict`, a missing
    key becomes `missing` (None: not an error, the method returns None), anything else a StoreError."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            medium = args[0]
            try:
                return method(*args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - this is the one place S3 errors are translated
                name = str(kwargs.get("name", args[1] if len(args) > 1 else ""))
                if conflict is not None and is_conflict(exc):
                    raise conflict(f"{name} in {medium.url} exists or changed meanwhile") from None  # type: ignore[attr-defined]
                if is_missing(exc):
                    if missing is None:
                        return None  # type: ignore[return-value]
                    raise missing(f"{name} in {medium.url}") from None  # type: ignore[attr-defined]
                raise translate(exc, medium.url, medium.bucket) from None  # type: ignore[attr-defined]

        return wrapper

    return decorate
