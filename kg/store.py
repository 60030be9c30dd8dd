"""Stage 4: the store. One small interface over Oxigraph (pyoxigraph), in memory or on disk.

Oxigraph is the embedded default because it was measured here to answer the relationship
queries 100-1000x faster than rdflib's in-memory engine and to load several times faster in less
memory (see the README's table). rdflib stays the API for terms, shapes and small graphs; this
module converts between the two term models, in one place, so that the xsd:string trap (Oxigraph
types every plain literal as ``xsd:string``, rdflib does not) is handled once.

Replacing or removing one article is a single SPARQL Update request, which Oxigraph applies
atomically: a reader sees the article's old claims or its new ones, never half of each.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, XSD

from . import iris
from .errors import QueryError, StoreBusy, StoreError
from .fsio import append_file, write_atomic
from .terms import iri as _iri
from .terms import literal as _literal
from .vocab import NAMESPACES, PROV

__all__ = ["Store", "is_store", "require_store", "engine_errors", "kept_beside", "read_kept",
           "keep_beside", "Encoded", "Spooled", "spool", "term_converter", "to_ox", "from_ox",
           "FORMATS"]

FORMATS = {"trig": ox.RdfFormat.TRIG, "nq": ox.RdfFormat.N_QUADS, "nt": ox.RdfFormat.N_TRIPLES,
           "ttl": ox.RdfFormat.TURTLE}
_STRING_TYPES = frozenset({XSD.string})
_LANG_STRING = str(RDF.langString)


def to_ox(term):
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term is None:
        return ox.DefaultGraph()
    raise TypeError(f"not an RDF term: {term!r}")


def from_ox(term):
    """A pyoxigraph term as an rdflib term (plain literals stay plain)."""
    if isinstance(term, ox.NamedNode):
        return _iri(term.value)
    if isinstance(term, ox.Literal):
        return _literal(term.value, term.language, term.datatype.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term is None or isinstance(term, ox.DefaultGraph):
        return None
    raise TypeError(f"not a pyoxigraph term: {term!r}")


def _quad(q):
    if isinstance(q, ox.Quad):
        return q
    s, p, o, g = q
    return ox.Quad(to_ox(s), to_ox(p), to_ox(o), to_ox(g))


class _Canonical:
    """Terms as the store keeps them, converted from rdflib terms.

    Oxigraph stores typed literals by value: ``"24"^^xsd:nonNegativeInteger`` is kept (and read
    back) as ``"24"^^xsd:integer``, ``"7700.0"^^xsd:decimal`` as ``"7700"``. Quads written to a
    file next to the store must read the same, so each distinct typed or tagged literal goes
    once through a scratch in-memory store (Oxigraph's own rules, not a copy of them) and is
    remembered, up to ``limit`` of them; plain strings, IRIs and blank nodes are kept as they
    are. Their text is remembered by :mod:`kg.nquads`, which asks here once per new term.
    """

    _NODE = ox.NamedNode("urn:kg:canonical")

    def __init__(self, limit: int = 100_000):
        self._scratch = ox.Store()
        self._seen: dict = {}
        self._limit = limit

    def term(self, term):
        """The pyoxigraph term of an rdflib term, as the store keeps it."""
        if type(term) is URIRef:
            return ox.NamedNode(term)
        if type(term) is not Literal:
            return to_ox(term)
        # Most literals are new objects (quotes, labels): a plain string needs no trip through
        # the scratch store, and a typed one is looked up before a pyoxigraph term is made.
        language, datatype = term.language, term.datatype
        if language is None and (datatype is None or datatype in _STRING_TYPES):
            return ox.Literal(str(term))
        key = (str(term), language, _LANG_STRING if language is not None else str(datatype))
        found = self._seen.get(key)
        if found is None:
            self._scratch.add(ox.Quad(self._NODE, self._NODE, to_ox(term)))
            stored = next(iter(self._scratch))
            self._scratch.remove(stored)  # 10 us; clear() takes 75
            if len(self._seen) >= self._limit:
                self._seen.clear()
            found = self._seen[key] = stored.object
        return found


def _data(quads) -> str:
    """Quads (pyoxigraph or rdflib-term) as the body of a SPARQL ``INSERT DATA`` or ``DELETE
    DATA``: terms in N-Triples form, which no text in a literal or IRI can break out of."""
    return " ".join(f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} }}"
                    for q in map(_quad, quads))


def _chunks(items, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class Encoded:
    """Quads serialized once, for the store and the two output files: N-Quads (what the
    store loads) and TriG (its ``@prefix`` lines only when asked for)."""

    nq: bytes
    trig: bytes
    quads: int


@dataclass(frozen=True)
class Spooled:
    """An :class:`Encoded` part written to two files (:func:`spool`) by the process that made
    it, for :meth:`Store.load_encoded`, which takes the files: the TriG is appended to its
    output file and removed, the N-Quads read by the load, then removed.

    A part handed over as bytes crosses a pipe: the worker copies it in, this process copies it
    out into new memory (the kernel zeroing each fresh page), and ``multiprocessing.Pool``'s
    worker-handling thread spins while a message is under way. Over 2 GB of parts, 1.8-4.3 CPU
    s of the receiving process against 0.26 through files, which it reads from the page cache.
    """

    nq: str
    trig: str
    quads: int


def spool(part: Encoded, stem: str) -> Spooled:
    """Write ``part`` to ``stem + ".nq"`` and ``stem + ".trig"``, as a :class:`Spooled` part.

    >>> import tempfile
    >>> part = spool(Encoded(b"<urn:s> <urn:p> <urn:o> .\\n", b"", 1), tempfile.mkdtemp() + "/0")
    >>> part.quads, Path(part.nq).read_bytes()
    (1, b'<urn:s> <urn:p> <urn:o> .\\n')
    >>> spool(Encoded(b"", b"", 0), "/nonexistent/0")
    Traceback (most recent call last):
    kg.errors.StoreError: /nonexistent/0.nq: cannot write a part: No such file or directory
    """
    done = Spooled(stem + ".nq", stem + ".trig", part.quads)
    for path, data in ((done.nq, part.nq), (done.trig, part.trig)):
        try:
            with open(path, "wb") as out:
                out.write(data)
        except OSError as exc:  # a full disk, say: the build stops with a clear error
            raise StoreError(f"cannot write a part: {exc.strerror or exc}",
                             file=path) from None
    return done


def term_converter(limit: int = 100_000):
    """A function giving the pyoxigraph term of an rdflib term as the store keeps it (see
    :class:`_Canonical`), remembering up to ``limit`` typed and tagged literals.

    >>> from rdflib import Literal
    >>> from rdflib.namespace import XSD
    >>> str(term_converter()(Literal("7700.0", datatype=XSD.decimal)))
    '"7700"^^<http://www.w3.org/2001/XMLSchema#decimal>'
    """
    return _Canonical(limit).term


_CUT = object()  # in a loader's queue: the current load ends here, the next one starts


class _PartsReader(io.RawIOBase):
    """The parts taken from a queue, byte strings or the N-Quads files of :class:`Spooled`
    parts (each removed once read), read one after another as one stream up to a ``_CUT``
    (``cut``) or a ``None`` (``ended``): what one bulk load reads while the parts are still
    being made."""

    def __init__(self, parts: queue.Queue):
        self._parts = parts
        self._left = memoryview(b"")
        self._file: io.FileIO | None = None
        self.cut = self.ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self._file is not None:
                n = self._file.readinto(buffer)  # straight into the loader's buffer
                if n:
                    return n
                self._close_file()
            elif self._left:
                n = min(len(buffer), len(self._left))
                buffer[:n] = self._left[:n]
                self._left = self._left[n:]
                return n
            if self.cut or self.ended:
                return 0
            part = self._parts.get()  # waits (without the GIL) for the next part
            if part is None or part is _CUT:
                self.ended, self.cut = part is None, part is _CUT
                return 0
            if isinstance(part, Spooled):
                self._file = io.FileIO(part.nq, "r")
            else:
                self._left = memoryview(part)

    def _close_file(self) -> None:
        file, self._file = self._file, None
        file.close()
        os.unlink(file.name)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close()


class _Loader:
    """One thread running Oxigraph's bulk loads, each reading the N-Quads parts put since the
    last ``cut`` as they come, without joining them.

    ``put`` waits while ``ahead`` parts are queued, which bounds the memory they hold. A failed
    load is raised by ``close`` (or the next ``put``) as a :class:`StoreError` naming the
    store; the parts put after it are taken and dropped, so ``put`` never blocks on a dead
    load.
    """

    def __init__(self, store: ox.Store, path: Path | None, ahead: int = 8):
        self._store, self._path = store, path
        self._queue: queue.Queue = queue.Queue(maxsize=ahead)
        self._error: BaseException | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="kg-bulk-load", daemon=True)
        self._thread.start()

    def _run(self):
        reader = _PartsReader(self._queue)
        try:
            while not reader.ended:
                reader = _PartsReader(self._queue)
                # every term in the bytes was serialized by Oxigraph or checked by it as its
                # text was made (kg.nquads; derive.encoded_facts joins such terms into lines):
                # lenient skips checking each IRI again (8% of a load's CPU)
                self._store.bulk_load(io.BufferedReader(reader, 1 << 20),
                                      format=ox.RdfFormat.N_QUADS, lenient=True)
        except BaseException as exc:  # noqa: BLE001 - raised again by close()
            self._error = exc
            reader.close()
            while not reader.ended and self._queue.get() is not None:
                pass

    def put(self, part) -> None:
        """Queue a part of N-Quads for the current load: bytes, or a :class:`Spooled` part
        whose N-Quads file is removed once read."""
        self._send(part)

    def cut(self) -> None:
        """End the current load where the parts put so far end; the next parts start another."""
        self._send(_CUT)

    def end(self) -> None:
        """End the last load where the parts put so far end, without waiting for Oxigraph to
        write its last batches (:meth:`close` waits)."""
        if not self._ended:
            self._send(None)
            self._ended = True

    def _send(self, item) -> None:
        if self._error is not None:
            self.close()
        self._queue.put(item)

    def close(self) -> None:
        """End the last load and wait for it; raise the error of a load that failed."""
        if self._thread.is_alive():
            if not self._ended:
                self._ended = True
                self._queue.put(None)
            self._thread.join()
        self._store = None  # holds no store open once done: its owner closes it by dropping it
        if self._error is not None:
            error, self._error = self._error, None
            if isinstance(error, Exception):  # not KeyboardInterrupt and the like
                raise StoreError(f"bulk load failed: {error}", file=self._path) from error
            raise error


def _stream(part, write_to: dict | None, loader: _Loader) -> None:
    """Write ``part`` (:class:`Encoded` or :class:`Spooled`) to the files of ``write_to`` and
    queue its N-Quads for ``loader``."""
    spooled = isinstance(part, Spooled)
    for fmt, out in (write_to or {}).items():
        if spooled:
            append_file(out, part.nq if fmt == "nq" else part.trig)
        else:
            out.write(part.nq if fmt == "nq" else part.trig)
    if spooled:
        os.unlink(part.trig)
    loader.put(part if spooled else part.nq)


@contextmanager
def engine_errors(item: str | None = None):
    """Oxigraph's errors while a query is parsed, run or its rows read, as :class:`QueryError`
    (its message starting with ``item``, a query's name, when given).

    >>> with engine_errors("q"):
    ...     Store().raw.query("SELECT WHERE")
    Traceback (most recent call last):
    kg.errors.QueryError: q: SPARQL syntax error: ...
    """
    prefix = f"{item}: " if item else ""
    try:
        yield
    except SyntaxError as exc:
        raise QueryError(f"{prefix}SPARQL syntax error: {exc}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise QueryError(f"{prefix}query failed: {exc}") from None


def is_store(path: Path | str) -> bool:
    """Whether ``path`` holds an on-disk store (RocksDB's ``CURRENT`` marks a database).

    >>> is_store("/nonexistent")
    False
    """
    return (Path(path) / "CURRENT").is_file()


def _files_stamp(path: Path) -> str | None:
    """A digest of the names, sizes and modification times of the database's files (its
    informational ``LOG`` files and ``LOCK`` aside): every write changes it, since RocksDB
    appends to its write-ahead log or writes new files; opening read-only changes nothing."""
    try:
        entries = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns)
                         for e in os.scandir(path) if not e.name.startswith(("LOG", "LOCK")))
    except OSError:
        return None
    return hashlib.sha256(repr(entries).encode()).hexdigest()


def kept_beside(store: "Store", kind: str, suffix: str = ".json") -> Path | None:
    """Where what is made from an on-disk store opened read-only is kept (``kind``: what it is,
    such as ``"name-index"``): a file beside the store (JSON unless ``suffix`` says otherwise),
    never inside (that directory is the database's own), through the output's symlinks so that
    it goes with the build generation it was made from. ``None`` for a writable or in-memory
    store, which may change under it."""
    if store.path is None or store.stamp is None:
        return None
    where = store.path.resolve()
    return where.parent / f".{where.name}.{kind}{suffix}"


def read_kept(store: "Store", kind: str, fmt) -> dict | None:
    """The JSON object kept beside ``store`` for ``kind`` (:func:`keep_beside`) if it was made
    in format ``fmt`` from the store as it is now (its :attr:`Store.stamp`); ``None`` if it is
    missing, unreadable, not a JSON object, of another format or stale. The caller checks the
    shape of what it reads: anything may be in the file."""
    path = kept_beside(store, kind)
    if path is None:
        return None
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != fmt or data.get("stamp") != store.stamp:
        return None
    return data


def keep_beside(store: "Store", kind: str, fmt, data: dict) -> None:
    """Keep ``data`` (a JSON object; ``format`` and ``stamp`` are added) beside ``store`` for
    ``kind``, written atomically. Nothing is kept for a store :func:`kept_beside` gives no
    place to, and a directory that cannot be written is harmless: it is made again next time."""
    path = kept_beside(store, kind)
    if path is None:
        return
    body = json.dumps({"format": fmt, "stamp": store.stamp, **data}).encode()
    try:
        write_atomic(path, lambda out: out.write(body))
    except OSError:
        pass


def require_store(path: Path | str) -> None:
    """Raise :class:`StoreError` unless ``path`` holds an on-disk store (see :func:`is_store`).

    Raises
    ------
    StoreError
        Nothing was built at ``path``.
    """
    if not is_store(path):
        raise StoreError("no store here: run `kg build` first", file=path)


class _Closed:
    """Stands for the ``pyoxigraph.Store`` of a closed :class:`Store`: every use raises."""

    def __init__(self, path: Path | None):
        self._path = path

    def __getattr__(self, name):
        raise StoreError("the store was closed", file=self._path)

    def __len__(self, *_) -> int:
        raise StoreError("the store was closed", file=self._path)

    __iter__ = __contains__ = __len__


class Store:
    """A quad store: in memory (``path=None``) or persistent in the directory ``path``.

    Parameters
    ----------
    path : path, optional
        Directory of a persistent store, created if missing.
    read_only : bool
        Open an existing on-disk store for reading only (several readers may share it).
    must_exist : bool
        Refuse a ``path`` that holds no store instead of creating one there (what every command
        that changes a built store wants: a mistyped path must not become an empty store).

    Raises
    ------
    StoreBusy
        Another process has the on-disk store open for writing.
    StoreError
        The directory is not a store or cannot be opened.
    """

    def __init__(self, path: Path | str | None = None, *, read_only: bool = False,
                 must_exist: bool = False):
        self.path = None if path is None else Path(path)
        #: Bumped by every change made through this object, so per-process caches of what the
        #: store holds can check they are current in O(1) (``len`` is a full scan). A read-only
        #: store sees the state it was opened on.
        self.version = 0
        #: For a store opened read-only: a digest of its files, taken around the opening, that
        #: tells whether what this object sees is what a later process would see; ``None``
        #: otherwise (in memory, writable, or written to while it was being opened). Caches of
        #: what the store holds that outlive the process are keyed on it.
        self.stamp = None
        try:
            if self.path is not None and (read_only or must_exist):
                require_store(self.path)
            if self.path is None:
                self._store = ox.Store()
            elif read_only:
                before = _files_stamp(self.path)
                self._store = ox.Store.read_only(str(self.path))
                if before is not None and _files_stamp(self.path) == before:
                    self.stamp = before
            else:
                self._store = ox.Store(str(self.path))
        except OSError as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise StoreBusy("store is busy: another process is writing to it",
                                file=self.path) from None
            raise StoreError(f"cannot open store: {text}", file=self.path) from None

    @property
    def raw(self) -> ox.Store:
        """The underlying ``pyoxigraph.Store``, for the query layer."""
        return self._store

    def close(self) -> None:
        """Let go of the store now: an on-disk one is closed (its lock released) once nothing
        else holds the ``pyoxigraph.Store`` (:attr:`raw`, a query's open results). Later use of
        this object raises :class:`StoreError`. ``with Store(path) as store:`` closes on leaving.

        A store otherwise stays open as long as any name, frame or traceback refers to it,
        which can outlast a lock held around it.

        >>> with Store() as store:
        ...     pass
        >>> len(store)
        Traceback (most recent call last):
        kg.errors.StoreError: the store was closed
        """
        self._store = _Closed(self.path)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._store)

    def add(self, quads, *, bulk: bool = False, chunk: int = 100_000) -> int:
        """Add quads (rdflib-term tuples); returns how many were given.

        By default the quads go in as one transaction: all of them or none. ``bulk=True``
        streams them through Oxigraph's bulk loader in chunks of about ``chunk`` quads, so that
        memory stays bounded whatever their number (measured: 589k quads in 20 s as one
        transaction against 6 s in bulk); it is not atomic (a failure leaves part of them
        written), so it is only for a store nobody reads yet, like a build's new generation.
        """
        if not bulk:
            batch = [_quad(q) for q in quads]
            self._store.extend(batch)
            self.version += 1
            return len(batch)
        self.version += 1
        total = 0
        for batch in _chunks(map(_quad, quads), chunk):
            self._store.bulk_extend(batch)
            total += len(batch)
        return total

    def load_encoded(self, parts, *, write_to: dict | None = None, chunk: int = 25_000,
                     max_chunk: int = 1_000_000, expected_parts: int | None = None,
                     stream_above: int = 4_000_000, tail=None) -> int:
        """Bulk-load :class:`Encoded` parts (see :func:`kg.nquads.encode`); returns the quads
        loaded.

        Like ``add(bulk=True)``: not atomic, only for a store nobody reads yet. The parts are
        loaded by a background thread (Oxigraph releases the GIL while it loads), so that
        making the next parts, here or in other processes, goes on meanwhile; a load reads its
        parts as they come, without joining them (:class:`_Loader`). The first load ends after
        ``chunk`` quads, each next one after twice the last, up to ``max_chunk``: every load
        writes and ingests its own sorted files, and many small ones cost more (measured on
        5.85M quads: 146 CPU seconds in loads of 100k quads, 105 in loads of 1M), while a small
        first load starts the loading early, beside the workers rather than after them
        (Oxigraph sorts a load's quads once it has read them all, or a batch of a million; a
        first load of 25k quads rather than 100k: 1k articles built in 1.04-1.06 s against
        1.17-1.40; 10k articles in one load: 16.2-17.4 s against 13.0-13.7 in growing loads).
        Each graph's quads must all be in one part. ``write_to`` maps ``"nq"`` / ``"trig"`` to
        binary files that receive the parts' serializations in order; the first part carries
        the TriG prefixes. A part may be :class:`Spooled`, its serializations in files: they
        are appended to ``write_to``'s by the kernel, not read into this process, and removed
        once used.

        ``expected_parts``, how many parts ``parts`` will give, also caps a load at an eighth of
        the quads they are expected to hold (estimated from the parts so far): the loads under
        way are most of the memory loading takes, so that memory then grows with the corpus
        instead of being a 1M-quad load's at any size. Where more than ``stream_above`` quads
        are expected once an eighth of the parts are in, the rest go to one load instead:
        Oxigraph then parses and sorts its batches side by side, as the parts come. At 100k
        articles (8M quads), the build's own process took 99 CPU s against 122 in loads of up
        to a million quads, the build 104 s against 113, at a higher peak memory, Oxigraph's
        batches (2.29 GB against 1.66, 284 MB per million quads); all in one load gained
        nothing at 20k articles (2M quads) and lost 3 s of 13.5 at 10k.

        ``tail``, a function called once ``parts`` are all taken, gives parts that follow them
        in the files but go to loads of their own (no larger than the last one, or one), beside
        the end of the last: once its input ends, Oxigraph sorts and writes a load's last
        batches of up to a million quads, one thread each, for seconds. A build's facts, made
        from every article's reports, are its tail: at 100k articles (2.2M quads of facts) the
        build took 82.9-83.2 s against 87.6-88.2 with them at the end of the articles' load;
        at 20k, 20.8-20.9 s against 22.6-23.3 (with this change and those before it), the same
        peak memory and the same quads.
        """
        unknown = set(write_to or ()) - {"nq", "trig"}
        if unknown:
            raise ValueError(f"cannot stream to {', '.join(sorted(unknown))}: nq or trig")
        self.version += 1
        loader, beside = _Loader(self._store, self.path), None
        total, size, seen, one_load = 0, 0, 0, False
        try:
            for part in parts:
                total += part.quads
                seen += 1
                _stream(part, write_to, loader)
                size += part.quads
                if size >= chunk and not one_load:
                    cap = max_chunk
                    if expected_parts:
                        expected = total * max(expected_parts, seen) // seen
                        # judged once an eighth of the parts are in: the first may be larger
                        one_load = expected > stream_above and 8 * seen >= expected_parts
                        cap = min(cap, expected // 8)
                    if not one_load:
                        loader.cut()
                        # never below the first load: loads only grow
                        size, chunk = 0, max(chunk, min(2 * chunk, cap))
            if tail is not None:
                loader.end()
                beside, size = _Loader(self._store, self.path), 0
                for part in tail():
                    total += part.quads
                    _stream(part, write_to, beside)
                    size += part.quads
                    if size >= chunk and not one_load:  # no larger than the last load
                        beside.cut()
                        size = 0
        finally:
            try:
                loader.close()
            finally:
                if beside is not None:
                    beside.close()
        return total

    def load_file(self, path: Path | str, fmt: str = "nq") -> None:
        """Bulk-load an N-Quads or TriG file written by :meth:`dump`."""
        self._store.bulk_load(path=str(path), format=FORMATS[fmt])
        self.version += 1

    def graphs_of_article(self, stem: str) -> list[URIRef]:
        """The claim graphs derived from one article (and the article's own graph)."""
        article = iris.article(stem)
        found = [iris.article_graph(stem)]
        for q in self._store.quads_for_pattern(None, ox.NamedNode(str(PROV.wasDerivedFrom)),
                                               ox.NamedNode(str(article)), None):
            if isinstance(q.graph_name, ox.NamedNode) and q.subject == q.graph_name:
                found.append(URIRef(q.graph_name.value))
        return found

    def count_quads(self, graphs) -> int:
        """How many quads the named graphs ``graphs`` hold together."""
        return sum(1 for g in graphs
                   for _ in self._store.quads_for_pattern(None, None, None, to_ox(URIRef(g))))

    def count_present(self, quads) -> int:
        """How many of ``quads`` (counted once each) the store holds."""
        return sum(1 for q in set(map(_quad, quads)) if q in self._store)

    def has_graph(self, graph) -> bool:
        return self._store.contains_named_graph(to_ox(graph))

    def replace_graphs(self, drop, quads, *, delete=()) -> None:
        """Drop the named graphs ``drop``, delete the quads ``delete`` and add ``quads``, as one
        atomic update. Quads are rdflib-term tuples or pyoxigraph quads."""
        parts = [f"DROP SILENT GRAPH <{g}>" for g in drop]
        gone = _data(delete)
        if gone:
            parts.append(f"DELETE DATA {{ {gone} }}")
        body = _data(quads)
        if body:
            parts.append(f"INSERT DATA {{ {body} }}")
        if parts:
            self._store.update(" ;\n".join(parts))
            self.version += 1

    def change(self, delete, insert, *, chunk: int = 10_000) -> None:
        """Delete the quads ``delete``, then add ``insert`` (pyoxigraph quads or rdflib-term
        tuples), in updates of ``chunk`` quads each.

        For changes too big for one update (:meth:`replace_graphs` writes every quad into one
        SPARQL text: the 2.2M quads of 100k articles' facts grew past 10 GB). Not atomic: a crash
        may leave part of the change written, so a caller marks what is complete last.
        """
        for batch in _chunks(delete, chunk):
            self._store.update(f"DELETE DATA {{ {_data(batch)} }}")
            self.version += 1
        for batch in _chunks(map(_quad, insert), chunk):
            self._store.extend(batch)
            self.version += 1

    def quads(self, graph=None):
        """Every quad (as rdflib terms), optionally of one graph."""
        g = None if graph is None else to_ox(graph)
        for q in self._store.quads_for_pattern(None, None, None, g):
            yield (from_ox(q.subject), from_ox(q.predicate), from_ox(q.object),
                   from_ox(q.graph_name))

    def dump(self, path: Path | str, fmt: str) -> None:
        """Write the whole store to ``path`` atomically (temporary file, then rename)."""
        kwargs = {"prefixes": NAMESPACES} if fmt in ("trig", "ttl") else {}
        write_atomic(path, lambda out: self._store.dump(out, format=FORMATS[fmt], **kwargs))

    def flush(self) -> None:
        if self.path is not None:
            self._store.flush()

    def optimize(self) -> None:
        """Compact the store on disk (RocksDB's full compaction, through Oxigraph), so that a
        lookup reads one sorted file per level instead of every file a load or update left.

        Measured at 100k articles (8.05M quads): 24 s, after which a meeting's corroboration
        took 3.8 ms instead of 7.8 right after the build, and 14 ms after ten ``kg add``.
        """
        if self.path is not None:
            self._store.optimize()
            self.version += 1
