"""Files: written so that a reader (or a crash) sees the old file or the new one, never a part;
read with a bound on their size; read ahead of the processes that will read them."""

from __future__ import annotations

import os
import shutil
import stat
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Callable

__all__ = ["write_atomic", "append_file", "read_bounded", "names_ending", "ReadAhead"]


def read_bounded(path: Path | str, max_bytes: int, error, *, what: str = "file",
                 limit: str = "limit", head: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (or only its first ``head`` bytes).

    A FIFO or device would block or never end, and a file may grow between ``stat`` and
    ``read``: both are refused. Every problem raises ``error`` naming the file; ``what`` and
    ``limit`` word the message ("article is N bytes, over the M-byte limit").

    >>> import tempfile
    >>> from kg.errors import InputError
    >>> path = Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = path.write_bytes(b"12345")
    >>> read_bounded(path, 10, InputError)
    b'12345'
    >>> read_bounded(path, 3, InputError)
    Traceback (most recent call last):
    ...
    kg.errors.InputError: /...a.txt: file is 5 bytes, over the 3-byte limit
    """
    path = path if isinstance(path, Path) else Path(path)  # Path(a Path) parses it again
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{what} is not a regular file" if what != "file"
                        else "not a regular file", file=path)
        if info.st_size > max_bytes:
            raise error(f"{what} is {info.st_size} bytes, over the {max_bytes}-byte {limit}",
                        file=path)
        with open(path, "rb") as handle:
            if head is not None:
                raw = handle.read(head)
            else:
                # sized by stat(): asking for max_bytes + 1 at once would allocate that much
                # for every small file (54 us each); a byte more shows a file that grew since
                raw = handle.read(min(info.st_size, max_bytes) + 1)
                if len(raw) > info.st_size:
                    raw += handle.read(max_bytes + 1 - len(raw))
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", file=path) from None
    if head is None and len(raw) > max_bytes:  # it grew after stat()
        raise error(f"{what} is over the {max_bytes}-byte {limit}", file=path)
    return raw


def names_ending(directory: Path | str, suffix: str) -> list[str]:
    """The names of the entries of ``directory`` that end with ``suffix``, sorted: what
    ``sorted(Path(directory).glob("*" + suffix))`` names (none when there is no such
    directory), without a ``Path`` made and compared for each (100k articles: 1.0 s a listing
    against 0.13-0.32).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("b.txt", "a.txt", ".c.txt", "d.yaml"):
    ...     _ = (folder / name).write_text("")
    >>> names_ending(folder, ".txt"), names_ending(folder / "nothing", ".txt")
    (['.c.txt', 'a.txt', 'b.txt'], [])
    """
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(name for name in names if name.endswith(suffix))


def write_atomic(path: Path | str, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, flush it to disk, then rename it over
    ``path`` (one atomic step); the temporary file is removed if anything fails.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "x.txt"
    >>> write_atomic(target, lambda out: out.write(b"done")).read_bytes()
    b'done'
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def append_file(out: BinaryIO, path: Path | str) -> int:
    """Append the file ``path`` to the open binary file ``out`` (after what was written to it
    so far); returns the bytes appended. The kernel copies them (``sendfile``) where it can,
    without reading them into this process.

    >>> import io, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "part"
    >>> _ = path.write_bytes(b"tail")
    >>> out = io.BytesIO(b"head ")
    >>> _ = out.seek(0, 2)
    >>> append_file(out, path), out.getvalue()
    (4, b'head tail')
    """
    with open(path, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        try:
            target = out.fileno()
        except (AttributeError, OSError):  # not a file of the system's (a BytesIO)
            target = None
        done = 0
        if target is not None and hasattr(os, "sendfile"):
            out.flush()
            while done < size:
                sent = os.sendfile(target, src.fileno(), None, size - done)
                if sent == 0:
                    break
                done += sent
        if done < size:  # no sendfile here, or it stopped short: the rest by reading
            src.seek(done)
            shutil.copyfileobj(src, out, 1 << 20)
        return size


def _advise(path: str, max_bytes: int) -> None:
    """Ask the kernel to read the regular file ``path`` of at most ``max_bytes`` into the page
    cache, and return without waiting. Anything wrong with the file is left for its reader to
    report."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            # a FIFO would block the open, a device is not ours to touch, and a file over its
            # reader's bound (a link to a large file elsewhere) is refused unread
            return
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


class ReadAhead:
    """A thread asking the kernel to read groups of files into the page cache before the
    processes that will read them get there: at most ``ahead`` groups past the last one
    :meth:`reached`, so that what it reads is not pushed out again before it is used, however
    many groups there are.

    A build's workers read each article's three small files one at a time; a corpus that is not
    in the page cache (a large one, or one not read lately) then costs them a wait and the
    kernel's work per read, on the build's critical path (100k articles read cold: 150-154 s
    against 133 s cached, the workers' CPU 132-135 s against 108). Asked ahead
    (``posix_fadvise``), the kernel reads them beside the work: 134-136 s read cold, the
    workers' CPU 108-111 s, and 6-10 CPU s in this thread. Nothing is read into this process.
    Where the call is missing (not Linux), nothing is done.

    ``groups`` is consumed lazily, in order, each group an iterable of paths. A file over
    ``max_bytes``, which its reader refuses, is not read.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> paths = [str(folder / f"{i}.txt") for i in range(6)]
    >>> for p in paths:
    ...     _ = Path(p).write_text("x")
    >>> with ReadAhead([paths[:3], paths[3:]], ahead=1) as ahead:
    ...     for index, group in enumerate([paths[:3], paths[3:]]):
    ...         ahead.reached(index)  # the second group may be read while the first is
    ...         texts = [Path(p).read_text() for p in group]
    >>> texts
    ['x', 'x', 'x']
    """

    def __init__(self, groups: Iterable[Iterable[str | Path]], *, ahead: int = 4,
                 max_bytes: int = 8 << 20):
        self._groups, self._ahead, self._max_bytes = groups, ahead, max_bytes
        self._limit = ahead  # groups [0, limit) may be read now
        self._stop = False
        self._cond = threading.Condition()
        self.groups_read = 0
        self._thread = None
        if hasattr(os, "posix_fadvise"):
            self._thread = threading.Thread(target=self._run, name="kg-read-ahead", daemon=True)
            self._thread.start()

    def reached(self, index: int) -> None:
        """Group ``index`` is being read: groups up to ``ahead`` past it may be read now."""
        with self._cond:
            self._limit = max(self._limit, index + 1 + self._ahead)
            self._cond.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Stop reading ahead. Waits ``timeout`` seconds at most for a call to the kernel that
        is under way (the thread is a daemon: it never holds the process)."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self) -> None:
        for index, group in enumerate(self._groups):
            with self._cond:
                while index >= self._limit and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
            for path in group:
                if self._stop:
                    return
                _advise(str(path), self._max_bytes)
            self.groups_read = index + 1
