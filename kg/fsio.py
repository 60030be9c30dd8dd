"""Writing files so that a reader (or a crash) sees the old file or the new one, never a part."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO, Callable

__all__ = ["write_atomic", "read_bounded"]


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
