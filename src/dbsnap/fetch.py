"""Reading payloads back: hashed in place or downloaded to a temporary file, never trusted unchecked."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dbsnap.exceptions import StoreError, VerificationError
from dbsnap.manifest import Snapshot
from dbsnap.scratch import scratch_file
from dbsnap.stores.store import Store
from dbsnap.streams import HashingSink, Progress, copy, sha256_of


def _check(snap: Snapshot, store: Store, digest: str, size: int) -> None:
    if size != snap.size or digest != snap.sha256:
        raise VerificationError(
            f"snapshot {snap.name!r} in {store.url} is corrupt: its stored bytes "
            f"(size {size}, sha256 {digest[:16]}…) do not match the manifest "
            f"(size {snap.size}, sha256 {snap.sha256[:16]}…)"
        )


def check_stored(store: Store, snap: Snapshot, progress: Progress | None = None) -> None:
    """Re-hash the stored payload of `snap`; raise VerificationError if it differs or is missing."""
    if progress is not None:
        progress.set_size(snap.size)
    try:
        with store.open_read(snap.name) as handle:
            digest, size = sha256_of(handle, progress=progress)
    except FileNotFoundError:
        raise VerificationError(
            f"snapshot {snap.name!r} in {store.url} has a manifest but no payload"
        ) from None
    except OSError as exc:
        raise StoreError(f"cannot read {snap.name!r} from {store.url}: {exc}") from None
    _check(snap, store, digest, size)


@contextlib.contextmanager
def verified_payload(store: Store, snap: Snapshot, progress: Progress | None = None) -> Iterator[str]:
    """Yield a local path to `snap`'s payload after its bytes matched the manifest."""
    local = store.local_path(snap.name)
    if local is not None:
        check_stored(store, snap, progress)
        yield local
        return
    try:
        stored = store.medium.stat(snap.name)
    except FileNotFoundError:
        raise VerificationError(
            f"snapshot {snap.name!r} in {store.url} has a manifest but no payload"
        ) from None
    if stored.size is not None and stored.size != snap.size:
        # Never download what cannot match (a huge object would fill the scratch disk for nothing).
        _check(snap, store, "0" * 64, stored.size)
    if progress is not None:
        progress.set_size(snap.size)
    with scratch_file("download") as scratch:
        with scratch.path.open("wb") as out:
            sink = HashingSink(out, progress)
            try:
                with store.open_read(snap.name) as handle:
                    copy(handle, sink)
            except FileNotFoundError:
                raise VerificationError(
                    f"snapshot {snap.name!r} in {store.url} has a manifest but no payload"
                ) from None
        _check(snap, store, sink.hexdigest(), sink.size)
        yield str(scratch.path)
