"""Answers to named questions kept beside a read-only store, so that asking again, in this
process or a later one, is a lookup.

A listing of a large store is a sort of every row it has, however few rows are asked: at 100k
articles, a first page of 20 pairs of "who met whom" takes 1.3 s, the busiest actor's 1,276
meetings 0.2 s. The answer is a function of the question and of the state of the store, so once
made it can be read back until the store changes. It is kept in an SQLite file beside the store
(:func:`kg.store.kept_beside`: next to a build's ``store/``, in the same generation), one row
per answer row, so that a page is read without the rest of the answer.

What is kept, and when:

* only for a store opened read-only whose files did not change while it was opened (its
  :attr:`~kg.store.Store.stamp`): every answer in the file is of the state the stamp names,
  and a file of another stamp is emptied by the next answer kept (``kg add``, ``kg remove`` and
  ``kg build`` change the store's files, so the stamp);
* an answer that took at least :data:`KEEP_AFTER` seconds to make: a quicker one is made again
  as fast as it is read back;
* the whole answer, or its first rows (a first page, or the first rows up to a bound, as
  ``kg query`` asks): a later page within them, or any page of a whole answer, is read back;
* at most :data:`MAX_BYTES` of rows in all; the answers made longest ago are dropped first.

Keeping is an optimisation: a file that cannot be read, written or trusted (missing, locked,
damaged, of another format or another state of the store, or rows that do not add up) is a miss,
and the question is asked of the store. The file is as trusted as the store beside it (whoever
can write one can write the other). The environment variable ``KG_KEEP_ANSWERS=off``
turns it off (every question is asked of the store, nothing is written); ``KG_KEEP_AFTER``
sets :data:`KEEP_AFTER` in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import weakref
from functools import lru_cache
from itertools import chain
from pathlib import Path

from rdflib import BNode, Literal, URIRef

from .memory import paused_gc
from .store import Store, kept_beside
from .terms import XSD_STRING, iri, literal

__all__ = ["KeptAnswers", "KEEP_AFTER", "MAX_BYTES", "FORMAT"]

#: Seconds an answer must have taken to be kept: the questions' target; a quicker one is made
#: again about as fast as it is read back.
KEEP_AFTER = 0.01
#: Bytes of rows kept beside one store, all answers together (at 100k articles a row of "who
#: met whom" takes about 1.3 kB, its claims listed).
MAX_BYTES = 256 * 2**20
#: What the file must say it holds: raise it whenever the layout or the rows' form changes, or
#: how an answer is made other than by its query's text (how parameters are read and bound).
FORMAT = "kg-kept-answers/2"

_META = "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)"
_TABLES = (
    """CREATE TABLE IF NOT EXISTS answers (
        key TEXT PRIMARY KEY, name TEXT NOT NULL, vars TEXT NOT NULL, rows INTEGER NOT NULL,
        complete INTEGER NOT NULL, bytes INTEGER NOT NULL, made REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS rows (
        key TEXT NOT NULL, n INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (key, n))
        WITHOUT ROWID""",
)


def _encode(term) -> str | None:
    """A term as a JSON value: ``None``, or a string: ``"u:IRI"``, ``"s:text"`` (a plain
    string), ``"b:id"``, ``"l:language text"`` or ``"t:datatype text"``. Strings alone, so that
    reading an answer back is a lookup per value (they repeat across its rows: IRIs, dates,
    labels) and a term made once per distinct value. A language tag or a datatype IRI has no
    space; a term whose does is refused (``TypeError``, and the answer is not kept)."""
    if term is None:
        return None
    # str() first: "u:" + a URIRef would make another URIRef (rdflib's __radd__), checked again
    if isinstance(term, URIRef):
        return "u:" + str(term)
    if isinstance(term, BNode):
        return "b:" + str(term)
    if isinstance(term, Literal):
        if term.language is not None:
            kind, tag = "l:", term.language
        elif term.datatype is not None and str(term.datatype) != XSD_STRING:
            kind, tag = "t:", str(term.datatype)
        else:
            return "s:" + str(term)
        if " " in tag:
            raise TypeError(f"a literal's tag with a space: {tag!r}")
        return f"{kind}{tag} {term}"
    raise TypeError(f"not an rdflib term: {term!r}")


def _tagged(value: str) -> Literal:
    tag, _, text = value.partition(" ")
    return literal(text, tag, None)


def _typed(value: str) -> Literal:
    tag, _, text = value.partition(" ")
    return literal(text, None, tag)


def _string(text: str) -> Literal:
    # shared (kg.terms.literal), as answers read from the store are: asked again in the same
    # process, the answer's labels are found, not made again (the busiest actor's meetings
    # read back 10.2-12.2 ms p50 with each made, 8.2-9.4 with each found)
    return literal(text, None, None)


_MAKE = {"u": iri, "s": _string, "b": BNode, "l": _tagged, "t": _typed}


def _decode_rows(names: list[str], parsed: list[list]) -> list[dict]:
    """The rows of an answer from their :func:`_encode`'d values, as parsed from JSON.

    Each distinct value is made a term once, then each row is a lookup per value, in C. 100k
    articles, the busiest actor's 1,276 meetings (11.5k values, 6.3k distinct), the first read
    in a new process: 29-31 ms when each value was a Python call (a typed literal a list) and
    each term made by rdflib's constructors, 15 ms so (:mod:`kg.terms`)."""
    values = set(chain.from_iterable(parsed))
    values.discard(None)
    make = _MAKE
    terms = {value: make[value[0]](value[2:]) for value in values}
    terms[None] = None
    get = terms.__getitem__
    return [dict(zip(names, map(get, row))) for row in parsed]


class KeptAnswers:
    """The answers kept beside one read-only store (see the module's text).

    Use :meth:`beside` to get one; ``None`` means the store has no place for them (in memory,
    writable, or changed while it was opened).

    Examples
    --------
    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/store"
    >>> Store(path).close()                      # an (empty) store on disk
    >>> store = Store(path, read_only=True)
    >>> kept = KeptAnswers(kept_beside(store, "answers", suffix=".sqlite"), store.stamp)
    >>> kept.put("q", "actors", ["a"], [{"a": URIRef("https://x/kim")}], complete=True)
    True
    >>> kept.get("q", 0, None)
    (['a'], [{'a': rdflib.term.URIRef('https://x/kim')}], False)
    >>> kept.get("another question", 0, None) is None
    True
    >>> KeptAnswers.beside(Store()) is None      # in memory: nowhere to keep them
    True
    """

    def __init__(self, path: Path, stamp: str):
        self.path, self.stamp = Path(path), stamp
        # One read connection, held: opening one for each question cost more than a quick
        # question's whole lookup (10k articles: 0.27 ms more on a 0.3 ms question)
        self._reader, self._reader_of, self._lock = None, None, threading.Lock()

    @classmethod
    def beside(cls, store: Store) -> "KeptAnswers | None":
        """The kept answers of ``store``, or ``None`` if it cannot have any (or keeping is
        turned off, ``KG_KEEP_ANSWERS=off``); the same object for the same store."""
        if os.environ.get("KG_KEEP_ANSWERS", "").strip().lower() in ("off", "0", "no", "false"):
            return None
        if store.stamp is None:
            return None
        found = _BESIDE.get(store)
        if found is None or found.stamp != store.stamp:
            path = kept_beside(store, "answers", suffix=".sqlite")
            if path is None:
                return None
            found = _BESIDE[store] = cls(path, store.stamp)
        return found

    @staticmethod
    def keep_after() -> float:
        """:data:`KEEP_AFTER`, or the seconds ``KG_KEEP_AFTER`` gives."""
        try:
            return float(os.environ["KG_KEEP_AFTER"])
        except (KeyError, ValueError):
            return KEEP_AFTER

    @staticmethod
    def key(text: str, params: dict | None = None) -> str:
        """The key of a question: a digest of the named query's text and of its parameters as
        given (names, not what they resolve to: they are resolved against the store, whose
        state the file is of, so a question asked again is read back without looking its names
        up). No page: every page of a question has the same key."""
        given = json.dumps(params or {}, sort_keys=True, ensure_ascii=False,
                           default=lambda v: [type(v).__name__, str(v)])  # a date, say
        return hashlib.sha256(f"{_digest(text)}\n{given}".encode()).hexdigest()

    def _read_connection(self) -> sqlite3.Connection | None:
        """The held read connection to the file as it is now (``None`` if there is none): made
        again for a file made again (a damaged one replaced), and in a forked process, which
        must not use its parent's."""
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        of = (os.getpid(), info.st_dev, info.st_ino)
        if self._reader_of != of:
            if self._reader is not None and self._reader_of[0] == of[0]:
                self._reader.close()
            self._reader, self._reader_of = None, None
            # read-only: never makes a file
            self._reader = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True,
                                           timeout=0.2, isolation_level=None,
                                           check_same_thread=False)
            self._reader_of = of
        return self._reader

    def get(self, key: str, offset: int, limit: int | None):
        """``(vars, rows, truncated)`` of rows ``offset`` to ``offset + limit`` of the answer
        kept for ``key`` (every row after ``offset`` when ``limit`` is ``None``), or ``None``
        when that page is not kept: no answer, or only first rows that end before it."""
        with self._lock:
            try:
                db = self._read_connection()
                # a miss, the usual case, is this one statement
                if db is None or db.execute(_FIND, (key, self.stamp, FORMAT)).fetchone() is None:
                    return None
            except (sqlite3.Error, ValueError):
                return None
            try:
                db.execute("BEGIN")  # the stamp, the answer and its rows as one state
                return self._read(db, key, offset, limit)
            except (sqlite3.Error, ValueError, TypeError, IndexError, KeyError):
                return None
            finally:
                if db.in_transaction:  # a read left open would keep writers out
                    db.execute("ROLLBACK")

    def _read(self, db, key, offset, limit):
        """:meth:`get`'s answer, read inside one transaction of ``db``."""
        found = db.execute(_FIND, (key, self.stamp, FORMAT)).fetchone()
        if found is None:
            return None
        names, count, complete = json.loads(found[0]), found[1], bool(found[2])
        end = count if limit is None else offset + limit
        if not complete and (limit is None or end > count):
            return None  # rows past those kept are asked for
        found = [data for (data,) in db.execute(
            "SELECT data FROM rows WHERE key = ? AND n >= ? AND n < ? ORDER BY n",
            (key, offset, end))]
        # Thousands of new dicts and terms, none in a cycle (kg.memory). 10k articles, read
        # back p95 with collection running and paused: facts by 3+ outlets (9.6k rows) 70 and
        # 55 ms, every actor 21 and 7.6, who met whom 8.7 and 6.5
        with paused_gc():
            rows = _decode_rows(names, json.loads("[" + ",".join(found) + "]"))
        if len(rows) != max(0, min(end, count) - offset):
            return None  # a file changed by hand: not to be trusted
        return names, rows, end < count or not complete

    def put(self, key: str, name: str, names: list[str], rows: list[dict], *,
            complete: bool) -> bool:
        """Keep ``rows``, the first rows of the answer for ``key`` (all of them if
        ``complete``), made by the named query ``name`` with result variables ``names``.
        Returns whether they were kept: not when as many or more are kept already, when they
        are over :data:`MAX_BYTES`, or when the file cannot be written."""
        try:
            encoded = [json.dumps([_encode(row.get(v)) for v in names], ensure_ascii=False)
                       for row in rows]
        except TypeError:
            return False
        size = sum(len(e.encode()) for e in encoded)
        if size > MAX_BYTES:
            return False
        for attempt in range(2):
            try:
                return self._put(key, name, names, encoded, size, complete)
            except sqlite3.DatabaseError as exc:
                if attempt or type(exc) is not sqlite3.DatabaseError:
                    return False  # locked, say (a subclass): another time
                # not a database (damaged, or some other file): made again from nothing
                try:
                    self.path.unlink()
                except OSError:
                    return False
            except (sqlite3.Error, OSError):
                return False
        return False

    def _put(self, key, name, names, encoded, size, complete) -> bool:
        # another writer (a `kg serve` worker keeping its answer): skip rather than wait
        db = sqlite3.connect(self.path, timeout=0.25, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")  # DDL too: all of it or nothing
            db.execute(_META)
            made_as, stamp = _meta(db)
            if made_as != FORMAT:  # laid out otherwise (or new): made again
                db.execute("DROP TABLE IF EXISTS rows")
                db.execute("DROP TABLE IF EXISTS answers")
            for table in _TABLES:
                db.execute(table)
            if (made_as, stamp) != (FORMAT, self.stamp):
                # another state of the store: nothing in it is an answer
                db.execute("DELETE FROM rows")
                db.execute("DELETE FROM answers")
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                               (("format", FORMAT), ("stamp", self.stamp)))
            had = db.execute("SELECT rows, complete FROM answers WHERE key = ?",
                             (key,)).fetchone()
            if had is not None and (had[1] or had[0] >= len(encoded)):
                db.execute("ROLLBACK")
                return False
            db.execute("DELETE FROM rows WHERE key = ?", (key,))
            db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (key, name, json.dumps(names), len(encoded), int(complete), size,
                        time.time()))
            db.executemany("INSERT INTO rows VALUES (?, ?, ?)",
                           ((key, n, data) for n, data in enumerate(encoded)))
            total = db.execute("SELECT SUM(bytes) FROM answers").fetchone()[0] or 0
            for old, count in db.execute(
                    "SELECT key, bytes FROM answers WHERE key != ? ORDER BY made",
                    (key,)).fetchall():
                if total <= MAX_BYTES:
                    break
                db.execute("DELETE FROM rows WHERE key = ?", (old,))
                db.execute("DELETE FROM answers WHERE key = ?", (old,))
                total -= count
            db.execute("COMMIT")
            return True
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()


_FIND = ("SELECT vars, rows, complete FROM answers WHERE key = ? "
         "AND ? = (SELECT v FROM meta WHERE k = 'stamp') "
         "AND ? = (SELECT v FROM meta WHERE k = 'format')")
#: One :class:`KeptAnswers` per store object, so that its connection is held.
_BESIDE: "weakref.WeakKeyDictionary[Store, KeptAnswers]" = weakref.WeakKeyDictionary()


@lru_cache(maxsize=64)
def _digest(text: str) -> str:
    """A digest of a named query's text: made once, not for every question asked of it."""
    return hashlib.sha256(text.encode()).hexdigest()


def _meta(db: sqlite3.Connection) -> tuple:
    found = dict(db.execute("SELECT k, v FROM meta").fetchall())
    return found.get("format"), found.get("stamp")
