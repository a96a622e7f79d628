"""s3://bucket/prefix: snapshots in S3 or an S3-compatible service, committed by conditional writes.

Configured the way the AWS tools are: credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
AWS_SESSION_TOKEN or a profile (AWS_PROFILE), the region from AWS_REGION / AWS_DEFAULT_REGION, and
AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for an S3-compatible service, as the AWS SDKs read them
(botocore does). Store options (``?storage_class=STANDARD_IA&sse=aws:kms&kms_key_id=...`` or ``-o``)
add a storage class and server-side encryption to every object written.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import IO, Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

from dbsnap.exceptions import ConfigError, StoreError
from dbsnap.stores.media import SMALL_LIMIT, Medium, ObjectInfo, ObjectTooLarge, VersionConflict, Writer
from dbsnap.stores.s3errors import is_conflict, is_missing, s3fs_module, translate, translated


class _NoSuchBucket(Exception):
    """What a bare 404 to HEAD bucket means."""

    response: ClassVar[dict[str, Any]] = {"Error": {"Code": "NoSuchBucket"}}


# Parts of 8 MiB: S3's minimum is 5 MiB, and one part is all an upload holds in memory at a time.
PART_SIZE = 8 * 1024 * 1024
_OPTIONS = {"storage_class": "StorageClass", "sse": "ServerSideEncryption", "kms_key_id": "SSEKMSKeyId"}


class _S3Writer(Writer):
    """A multipart upload that completes only with If-None-Match, and never by accident.

    The file is opened without autocommit: closing it (or the garbage collector closing it) only
    uploads parts; the object exists once commit() completed the upload conditionally.
    """

    def __init__(self, medium: S3Medium, name: str) -> None:
        self.medium = medium
        self.name = name
        self.file = medium.fs.open(medium.path(name), "xb", block_size=PART_SIZE, autocommit=False)
        self.file.s3_additional_kwargs = {
            **getattr(self.file, "s3_additional_kwargs", {}),
            **medium.write_kwargs,
        }
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self.size += len(data)
        return int(self.file.write(data))

    def close(self) -> None:
        if self.size == 0:
            raise StoreError(f"refusing to create an empty {self.name} in {self.medium.url}")
        try:
            self.file.close()
            self.file.commit()
        except BaseException as exc:
            self.abort()
            if is_conflict(exc):
                raise FileExistsError(self.medium.path(self.name)) from None
            raise self.medium.explain(exc) from exc

    def abort(self) -> None:
        self.file.closed = True  # nothing may flush or commit it afterwards
        mpu = getattr(self.file, "mpu", None)
        if mpu:
            with contextlib.suppress(StoreError):  # a later sweep aborts it
                self.medium.abort_upload(self.name, mpu["UploadId"])


class S3Medium(Medium):
    """A prefix of an S3 bucket."""

    commit = "create"

    def __init__(self, url: str, **options: Any) -> None:
        """Parse s3://bucket/prefix[?options]; options (storage_class, sse, kms_key_id) may also be given."""
        s3fs = s3fs_module()
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigError(f"{url!r} is not an s3://bucket/prefix URL")
        self.bucket = parts.netloc
        self.prefix = unquote(parts.path).strip("/")
        given = {**dict(parse_qsl(parts.query)), **{k: str(v) for k, v in options.items()}}
        unknown = sorted(set(given) - set(_OPTIONS))
        if unknown:
            raise ConfigError(
                f"unknown S3 store option(s) {', '.join(unknown)} (known: {', '.join(_OPTIONS)})"
            )
        self.write_kwargs = {_OPTIONS[k]: v for k, v in given.items()}
        config = {
            "retries": {"max_attempts": 8, "mode": "standard"},
            "max_pool_connections": 32,
            "connect_timeout": 10,
            "read_timeout": 60,
        }
        self.fs = s3fs.S3FileSystem(skip_instance_cache=True, config_kwargs=config, use_listings_cache=False)
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        endpoint = self.fs.client_kwargs.get("endpoint_url") or "aws"
        self.key = f"{self.url}@{endpoint}"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> S3Medium:
        """Open `url`."""
        return cls(url, **options)

    def path(self, name: str) -> str:
        """Return the bucket/key of object `name`."""
        return f"{self.bucket}/{self.prefix}/{name}" if self.prefix else f"{self.bucket}/{name}"

    def _key(self, name: str) -> str:
        return self.path(name).split("/", 1)[1]

    def _call(self, method: str, **kwargs: Any) -> Any:
        return self.fs.call_s3(method, Bucket=self.bucket, **kwargs)

    @translated()
    def exists(self) -> bool:
        """Tell whether the bucket exists and holds anything under the prefix."""
        try:
            self.make(parents=False)
        except StoreError as exc:
            if "does not exist" in str(exc):
                return False
            raise
        if not self.prefix:
            return True
        found = self._call("list_objects_v2", Prefix=self.prefix + "/", MaxKeys=1)
        return bool(found.get("KeyCount"))

    @translated(missing=None)
    def make(self, *, parents: bool) -> None:  # noqa: ARG002 - a prefix needs no folders
        """Check the bucket exists (dbsnap never creates one; the prefix needs nothing)."""
        try:
            self._call("head_bucket")
        except Exception as exc:  # HEAD answers a missing bucket with a bare 404
            if is_missing(exc):
                raise translate(_NoSuchBucket(), self.url, self.bucket) from None
            raise

    @translated(missing=None)
    def scan(self) -> dict[str, ObjectInfo]:
        """List the objects directly under the prefix."""
        found: dict[str, ObjectInfo] = {}
        prefix = f"{self.prefix}/" if self.prefix else ""
        for item in self._pages(prefix):
            name = item["Key"][len(prefix) :]
            stamp = item.get("LastModified")
            found[name] = ObjectInfo(
                name, int(item["Size"]), stamp.timestamp() if stamp else None, True, item.get("ETag")
            )
        return found

    def _pages(self, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call("list_objects_v2", Prefix=prefix, Delimiter="/", **extra)
            items.extend(page.get("Contents", []))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return items

    @translated()
    def stat(self, name: str) -> ObjectInfo:
        """Describe one object (HEAD)."""
        head = self._call("head_object", Key=self._key(name))
        stamp = head.get("LastModified")
        return ObjectInfo(
            name, int(head["ContentLength"]), stamp.timestamp() if stamp else None, True, head.get("ETag")
        )

    def create(self, name: str) -> Writer:
        """Start a conditional multipart upload to `name` (FileExistsError at close if it exists)."""
        return _S3Writer(self, name)

    @translated(conflict=FileExistsError)
    def put(self, name: str, data: bytes) -> None:
        """Create a small object only if the key is free (If-None-Match: *)."""
        self._call("put_object", Key=self._key(name), Body=data, IfNoneMatch="*", **self.write_kwargs)

    @translated(conflict=VersionConflict, missing=VersionConflict)
    def replace(self, name: str, data: bytes, version: str) -> str:
        """Replace `name` only if its ETag is still `version` (If-Match); return the new ETag."""
        out = self._call("put_object", Key=self._key(name), Body=data, IfMatch=version, **self.write_kwargs)
        return str(out["ETag"])

    def version(self, name: str) -> str | None:
        """Return the object's ETag, or None if it is missing."""
        with contextlib.suppress(FileNotFoundError):
            return self.stat(name).version
        return None

    async def _read_small(self, name: str, limit: int) -> bytes:
        data: bytes = await self.fs._cat_file(self.path(name), start=0, end=limit + 1)
        if len(data) > limit:
            raise ObjectTooLarge(f"{name} in {self.url} is larger than {limit} bytes")
        return data

    def read(self, name: str, limit: int = SMALL_LIMIT) -> bytes:
        """Read the first `limit` bytes of a small object (a range GET: never more)."""
        found = self.read_many([name], limit)[name]
        if isinstance(found, Exception):
            raise found
        return found

    def read_many(self, names: list[str], limit: int = SMALL_LIMIT) -> dict[str, bytes | Exception]:
        """Read small objects concurrently, each at most `limit` bytes."""
        from fsspec.asyn import sync

        async def gather() -> list[Any]:
            return await asyncio.gather(*(self._read_small(n, limit) for n in names), return_exceptions=True)

        results = sync(self.fs.loop, gather) if names else []
        found: dict[str, bytes | Exception] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, Exception) and not isinstance(result, ObjectTooLarge):
                result = FileNotFoundError(self.path(name)) if is_missing(result) else self.explain(result)
            found[name] = result
        return found

    @translated()
    def open(self, name: str) -> IO[bytes]:
        """Open an object for streaming reads (readahead in 8 MiB blocks)."""
        return self.fs.open(self.path(name), "rb", block_size=PART_SIZE)  # type: ignore[no-any-return]

    @translated(missing=None)
    def delete(self, name: str) -> None:
        """Delete an object; a missing one is fine."""
        self._call("delete_object", Key=self._key(name))

    @translated()
    def incomplete_uploads(self) -> dict[str, list[str]]:
        """Return the multipart uploads under the prefix that were never completed or aborted."""
        prefix = f"{self.prefix}/" if self.prefix else ""
        found: dict[str, list[str]] = {}
        page = self._call("list_multipart_uploads", Prefix=prefix)
        for upload in page.get("Uploads", []):
            found.setdefault(upload["Key"][len(prefix) :], []).append(upload["UploadId"])
        return found

    @translated(missing=None)
    def abort_upload(self, name: str, upload: str) -> None:
        """Abort an incomplete multipart upload."""
        self._call("abort_multipart_upload", Key=self._key(name), UploadId=upload)

    def explain(self, exc: BaseException) -> BaseException:
        """Translate an s3fs/botocore error (see dbsnap.stores.s3errors)."""
        return translate(exc, self.url, self.bucket)
