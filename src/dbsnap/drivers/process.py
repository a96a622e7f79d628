"""Running a database tool as a child process: streamed stdout/stdin, the tail of its stderr kept.

Every child dies with dbsnap: an exception (SIGINT and SIGTERM arrive as exceptions) kills and reaps
it before the exception goes on, and on Linux the kernel sends it SIGKILL if dbsnap itself is killed
(PR_SET_PDEATHSIG), so an orphaned pg_restore can never finish a restore that dbsnap abandoned.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import IO, Any

from dbsnap.exceptions import DriverError
from dbsnap.redact import scrub
from dbsnap.streams import CHUNK, Sink, Source

TAIL_LINES = 8
PR_SET_PDEATHSIG = 1


def _death_signal() -> Callable[[], None] | None:
    """Return a pre-exec function that asks the kernel to SIGKILL the child when dbsnap dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]
    kill = int(signal.SIGKILL)
    # Resolved here, in the parent: the child only makes one C call before exec.
    return lambda: prctl(PR_SET_PDEATHSIG, kill) and None


_PREEXEC = _death_signal()


class Tool:
    """A running child process whose stderr is drained by a thread into a bounded tail.

    Use it as a context manager: leaving the block by an exception kills the child.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        stdin: bool | IO[bytes] = False,
        stdout: bool = False,
    ) -> None:
        """Start `argv`; pipe stdin/stdout when asked, or read stdin from an open file."""
        self.name = argv[0].rsplit("/", 1)[-1]
        source: Any = subprocess.PIPE if stdin is True else subprocess.DEVNULL if stdin is False else stdin
        try:
            self.proc = subprocess.Popen(
                list(argv),
                env=env,
                stdin=source,
                stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                bufsize=0,
                preexec_fn=_PREEXEC,
            )
        except OSError as exc:
            raise DriverError(f"cannot start {self.name}: {exc.strerror}") from None
        # Popen.wait() lets a child run on for 0.25 s after Ctrl-C, assuming it got the signal too
        # (bpo-25942); a restore must not get a quarter second to commit after dbsnap was told to stop.
        self.proc._sigint_wait_secs = 0  # type: ignore[attr-defined]
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.feed_error: BaseException | None = None
        self._feeder: threading.Thread | None = None
        self.stdout_head = b""
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def __enter__(self) -> Tool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self.kill()
        if self._feeder is not None:
            # The feeder reads the caller's decoder, which is closed after this block: it must be
            # done first (a killed tool ends it at its next write).
            self._feeder.join()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._tail.append(raw.decode("utf-8", "replace").rstrip())

    def stderr_tail(self) -> str:
        """Return the last lines the tool wrote to stderr, secrets scrubbed, joined by ' | '."""
        self._reader.join(timeout=5)
        return scrub(" | ".join(line for line in self._tail if line))

    def stderr_lines(self) -> list[str]:
        """Return the last lines the tool wrote to stderr so far (unscrubbed; for matching only)."""
        return list(self._tail)

    @property
    def stdout(self) -> IO[bytes]:
        """The tool's stdout pipe (to hand to another tool's stdin)."""
        out = self.proc.stdout
        assert out is not None
        return out

    def pump_out(self, sink: Sink) -> int:
        """Copy the tool's stdout to `sink` in bounded chunks; kill the tool if the sink fails."""
        out = self.stdout
        total = 0
        try:
            while block := out.read(CHUNK):
                sink.write(block)
                total += len(block)
        except BaseException:
            self.kill()
            raise
        return total

    def pump_in(self, source: Source) -> None:
        """Feed `source` to the tool's stdin, then close it; a tool that exits early is not an error here."""
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            while block := source.read(CHUNK):
                stdin.write(block)
        except BrokenPipeError:
            pass
        except BaseException:
            self.kill()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()

    def feed_in_background(self, source: Source) -> None:
        """Feed `source` to stdin from a thread while the caller reads stdout; joined when the block ends.

        A failure of the source (a corrupt payload the decoder refuses) kills the tool, so the
        caller's finish() reports it; the error itself is kept in `feed_error`.
        """

        def feed() -> None:
            try:
                self.pump_in(source)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through feed_error
                self.feed_error = exc

        self._feeder = threading.Thread(target=feed, daemon=True)
        self._feeder.start()

    def keep_stdout_head(self, limit: int = 4096) -> threading.Thread:
        """Read stdout from a thread, keeping its first `limit` bytes in `stdout_head`; return the thread."""

        def drain() -> None:
            out = self.stdout
            while block := out.read(CHUNK):
                if len(self.stdout_head) < limit:
                    self.stdout_head += block[: limit - len(self.stdout_head)]

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        return reader

    def kill(self) -> None:
        """Kill the tool and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def wait(self) -> int:
        """Wait for the tool to exit; return its status (negative: killed by that signal)."""
        return self.proc.wait()

    def failure(self, what: str) -> DriverError | None:
        """Return the DriverError describing a failed run (with its stderr tail), or None if it succeeded."""
        code = self.proc.wait()
        if code == 0:
            return None
        reason = self.stderr_tail() or "no message"
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        return DriverError(f"{what} failed: {self.name} {how}: {reason}")

    def finish(self, what: str) -> None:
        """Wait for the tool; raise DriverError with its stderr tail if it failed."""
        error = self.failure(what)
        if error is not None:
            raise error
