"""Running a database tool as a child process: streamed stdout/stdin, the tail of its stderr kept."""

from __future__ import annotations

import collections
import contextlib
import subprocess
import threading
from collections.abc import Sequence
from typing import IO

from dbsnap.exceptions import DriverError
from dbsnap.redact import scrub
from dbsnap.streams import CHUNK, Sink, Source

TAIL_LINES = 8


class Tool:
    """A running child process whose stderr is drained by a thread into a bounded tail."""

    def __init__(
        self, argv: Sequence[str], env: dict[str, str], *, stdin: bool = False, stdout: bool = False
    ) -> None:
        """Start `argv`; pipe stdin/stdout when asked."""
        self.name = argv[0].rsplit("/", 1)[-1]
        try:
            self.proc = subprocess.Popen(
                list(argv),
                env=env,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                bufsize=0,
            )
        except OSError as exc:
            raise DriverError(f"cannot start {self.name}: {exc.strerror}") from None
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._tail.append(raw.decode("utf-8", "replace").rstrip())

    def stderr_tail(self) -> str:
        """Return the last lines the tool wrote to stderr, secrets scrubbed, joined by ' | '."""
        self._reader.join(timeout=5)
        return scrub(" | ".join(line for line in self._tail if line))

    def pump_out(self, sink: Sink) -> int:
        """Copy the tool's stdout to `sink` in bounded chunks; kill the tool if the sink fails."""
        out: IO[bytes] | None = self.proc.stdout
        assert out is not None
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

    def feed_in_background(self, source: Source) -> threading.Thread:
        """Feed `source` to stdin from a thread (while the caller reads stdout); return the thread."""
        feeder = threading.Thread(target=self.pump_in, args=(source,), daemon=True)
        feeder.start()
        return feeder

    def kill(self) -> None:
        """Kill the tool and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def finish(self, what: str) -> None:
        """Wait for the tool; raise DriverError with its stderr tail if it failed."""
        code = self.proc.wait()
        if code != 0:
            reason = self.stderr_tail() or "no message"
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            raise DriverError(f"{what} failed: {self.name} {how}: {reason}")
