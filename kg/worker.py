"""Queries that can be stopped: SPARQL runs in a pool of worker processes, never in the caller.

Oxigraph cannot be interrupted from Python (a signal waits until the engine hands control back,
which a four-way cartesian product or a ``(p|^p)*`` path over the whole graph may never do), so
every query the endpoint runs goes to a long-lived worker process that has the on-disk store open
read-only. The caller waits up to ``timeout`` seconds; past that the worker is killed (SIGKILL),
a fresh one is started in the background, and :class:`~kg.errors.QueryTimeout` is raised.

A free query is checked with :func:`kg.safety.check_query` (against the store's named graphs)
before the engine sees it, as the first step of its job: rdflib's parser can take tens of seconds
on a crafted 100 kB text, and in a worker that is stopped by the same time limit.

Each worker also

* gives up its network: it moves into a network namespace of its own with no interface up
  (best effort; Linux only), so even a ``SERVICE`` that got past :func:`kg.safety.check_query`
  could not reach anything;
* limits its memory (``RLIMIT_AS``, counted from what the opened store maps), so a query that
  builds huge strings dies alone instead of taking the machine with it;
* stops by itself when its parent process is gone.

Workers are started with the ``spawn`` method: a script that makes a :class:`QueryRunner` at
import time must guard its entry point with ``if __name__ == "__main__":``.

Results cross the process boundary as plain tuples (:func:`encode_term` / :func:`decode_term`):

======================================  ===============================================
``("uri", iri)``                        an IRI
``("literal", text, datatype, lang)``   a literal; ``datatype`` None for a plain string
                                        (``xsd:string``) or a language-tagged one
``("bnode", id)``                       a blank node
``("triple", s, p, o)``                 an RDF-star triple term (each part encoded)
======================================  ===============================================

>>> from rdflib import Literal, URIRef
>>> encode_term(Literal("chat", lang="fr"))
('literal', 'chat', None, 'fr')
>>> decode_term(("uri", "https://w3id.org/newskg/id/actor/x"))
rdflib.term.URIRef('https://w3id.org/newskg/id/actor/x')
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import errors
from .errors import KGError, QueryError, QueryTimeout, StoreError, UnsafeQuery
from .memory import paused_gc
from .safety import MAX_QUERY_CHARS
from .terms import XSD_STRING as _XSD_STRING

__all__ = ["QueryRunner", "RawResult", "WorkersBusy", "encode_term", "decode_term",
           "decode_ox", "DEFAULT_MEMORY_LIMIT"]

_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

#: Address space a worker may use (bytes); a query past it dies alone.
DEFAULT_MEMORY_LIMIT = 4 << 30
#: What :attr:`QueryRunner.warmed` calls the name index, after the listings.
NAME_INDEX = "(name index)"
#: Results larger than this (the summed length of their values) are cut and marked truncated.
DEFAULT_MAX_BYTES = 64 << 20


class WorkersBusy(QueryTimeout):
    """Every worker stayed busy for the whole time limit; the query was not started."""


# --- terms <-> plain tuples ---------------------------------------------------------------------

def encode_term(term):
    """An rdflib or pyoxigraph term (or None) as a plain, picklable tuple (or None)."""
    if term is None:
        return None
    if isinstance(term, tuple) and term and term[0] in ("uri", "literal", "bnode", "triple"):
        return term
    import pyoxigraph as ox
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, ox.NamedNode):
        return ("uri", term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return ("literal", term.value, None, term.language)
        dt = term.datatype.value
        return ("literal", term.value, None if dt == _XSD_STRING else dt, None)
    if isinstance(term, ox.BlankNode):
        return ("bnode", term.value)
    if isinstance(term, ox.Triple):
        return ("triple", encode_term(term.subject), encode_term(term.predicate),
                encode_term(term.object))
    if isinstance(term, ox.DefaultGraph):
        return None
    if isinstance(term, URIRef):
        return ("uri", str(term))
    if isinstance(term, Literal):
        if term.language:
            return ("literal", str(term), None, term.language)
        dt = None if term.datatype is None else str(term.datatype)
        return ("literal", str(term), None if dt == _XSD_STRING else dt, None)
    if isinstance(term, BNode):
        return ("bnode", str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def decode_term(value):
    """A tuple from :func:`encode_term` as an rdflib term (plain literals stay plain).

    rdflib has no triple term: an RDF-star triple comes back as a tuple of three rdflib terms.
    """
    if value is None:
        return None
    from rdflib import BNode

    from .terms import iri, literal

    kind = value[0]
    if kind == "uri":
        return iri(value[1])
    if kind == "literal":
        _, text, dt, lang = value
        return literal(text, lang or None, dt)
    if kind == "bnode":
        return BNode(value[1])
    if kind == "triple":
        return tuple(decode_term(v) for v in value[1:])
    raise ValueError(f"not an encoded term: {value!r}")


def decode_ox(value):
    """A tuple from :func:`encode_term` as a pyoxigraph term."""
    if value is None:
        return None
    import pyoxigraph as ox

    kind = value[0]
    if kind == "uri":
        return ox.NamedNode(value[1])
    if kind == "literal":
        _, text, dt, lang = value
        if lang:
            return ox.Literal(text, language=lang)
        if dt is None:
            return ox.Literal(text)
        return ox.Literal(text, datatype=ox.NamedNode(dt))
    if kind == "bnode":
        return ox.BlankNode(value[1])
    if kind == "triple":
        return ox.Triple(decode_ox(value[1]), decode_ox(value[2]), decode_ox(value[3]))
    raise ValueError(f"not an encoded term: {value!r}")


@dataclass
class RawResult:
    """A query's answer in picklable form.

    ``kind`` is ``"select"``, ``"ask"`` or ``"triples"`` (CONSTRUCT/DESCRIBE: ``vars`` are
    subject, predicate, object); ``rows`` are tuples aligned with ``vars``, each value an encoded
    term or None (unbound).
    """

    kind: str
    vars: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    boolean: bool | None = None
    truncated: bool = False
    elapsed: float = 0.0

    @paused_gc()  # a row of new terms per row of the answer (kg.memory)
    def to_query_result(self):
        """The same answer as a :class:`kg.query.QueryResult` of rdflib terms."""
        from .query import QueryResult

        rows = [{v: decode_term(t) for v, t in zip(self.vars, row)} for row in self.rows]
        return QueryResult(vars=list(self.vars), rows=rows, boolean=self.boolean,
                           truncated=self.truncated)


# --- the worker process -------------------------------------------------------------------------

def _isolate_network() -> bool:
    """Move this (still single-threaded) process into an empty network namespace."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        clone_newnet, clone_newuser = 0x40000000, 0x10000000
        for flags in (clone_newnet, clone_newuser | clone_newnet):
            if libc.unshare(flags) == 0:
                return True
    except (OSError, AttributeError):
        pass
    return False


def _mapped_bytes() -> int:
    """The address space the process has mapped now (0 where /proc does not say)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_memory(limit: int | None) -> None:
    """Let the process map at most ``limit`` bytes more than it has mapped now.

    Set after the store is open, as headroom: opening it maps several hundred MB of address
    space (RocksDB's threads, each with a stack and a malloc arena), more on a machine with more
    cores, and a thread RocksDB cannot start aborts the process. A limit counted from zero
    failed that way on a larger machine at 768 MB.
    """
    if not limit:
        return
    limit += _mapped_bytes()
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _error_payload(exc: BaseException) -> tuple:
    if isinstance(exc, KGError):
        return ("error", type(exc).__name__, str(exc), list(getattr(exc, "candidates", ()) or ()))
    if isinstance(exc, MemoryError):
        return ("error", "QueryError", "the query ran out of memory", [])
    if isinstance(exc, SyntaxError):
        return ("error", "QueryError", f"SPARQL syntax error: {exc}", [])
    return ("error", "QueryError", f"query failed: {type(exc).__name__}: {exc}", [])


_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.I)


def _query_form(text: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first form keyword outside comments and IRIs."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    body = re.sub(r"<[^<>\s]*>|\"[^\"\n]*\"|'[^'\n]*'", " ", body)
    match = _FORM.search(body)
    return match.group(1).upper() if match else "SELECT"


@paused_gc()  # a tuple per term of the answer, none in a cycle (kg.memory)
def _collect(result, max_rows: int, max_bytes: int, started: float) -> RawResult:
    import pyoxigraph as ox

    if isinstance(result, ox.QueryBoolean):
        return RawResult("ask", boolean=bool(result), elapsed=time.monotonic() - started)
    rows, size, truncated = [], 0, False
    if isinstance(result, ox.QueryTriples):
        kind, names = "triples", ["subject", "predicate", "object"]
        for t in result:
            if len(rows) >= max_rows or size > max_bytes:
                truncated = True
                break
            row = (encode_term(t.subject), encode_term(t.predicate), encode_term(t.object))
            size += sum(len(v[1]) if v[0] != "triple" else 100 for v in row)
            rows.append(row)
    else:
        kind, names = "select", [v.value for v in result.variables]
        for solution in result:
            if len(rows) >= max_rows or size > max_bytes:
                truncated = True
                break
            row = tuple(encode_term(solution[n]) for n in names)
            size += sum(len(v[1]) if v[0] != "triple" else 100 for v in row if v is not None)
            rows.append(row)
    return RawResult(kind, names, rows, truncated=truncated,
                     elapsed=time.monotonic() - started)


_GRAPHS: dict[int, frozenset] = {}


def _store_graphs(store) -> frozenset:
    """The named graphs of the worker's store (read once: the store is opened read-only)."""
    found = _GRAPHS.get(id(store))
    if found is None:
        import pyoxigraph as ox

        found = frozenset(g.value for g in store.raw.named_graphs()
                          if isinstance(g, ox.NamedNode))
        _GRAPHS[id(store)] = found
    return found


#: Seconds of one job after which a worker opens its store again (see :func:`_renewed`).
RENEW_AFTER = 1.0


def _renewed(store):
    """The worker's store opened again, with what the process read of it (its named graphs,
    its name index), when its files are unchanged; otherwise the store as it was (the runner
    replaces a worker whose store changed).

    A store object that has served a long question answers later ones more slowly (100k
    articles: after listing every dispute, the timeline of a topic took 8.4 ms instead of 5.0):
    RocksDB's state in it, which a new object does not have. Opening one takes about 12 ms.
    """
    from .query import share_index
    from .store import Store

    if store.stamp is None:
        return store
    fresh = Store(store.path, read_only=True)
    if fresh.stamp != store.stamp:
        return store
    graphs = _GRAPHS.pop(id(store), None)
    if graphs is not None:
        _GRAPHS[id(fresh)] = graphs
    share_index(store, fresh)
    return fresh


def _warm_up(store) -> None:
    """Import and prime what jobs use, so the first query does not pay for it."""
    from .query import load_queries
    from .safety import check_query

    check_query("ASK { GRAPH ?g { ?s ?p ?o } }", graphs=_store_graphs(store))
    load_queries()


def _run_job(store, job: dict) -> RawResult:
    started = time.monotonic()
    max_rows, max_bytes = job["max_rows"], job["max_bytes"]
    if job["op"] == "sparql":
        from .store import engine_errors
        from .vocab import NAMESPACES

        if job.get("check", True):
            # Parsing is part of the job: a parse that takes too long is killed like a query.
            from .safety import check_query

            check_query(job["text"], graphs=_store_graphs(store))

        kwargs = {"prefixes": dict(NAMESPACES),
                  "use_default_graph_as_union": job.get("union", False)}
        if job.get("substitutions"):
            import pyoxigraph as ox

            kwargs["substitutions"] = {ox.Variable(k): decode_ox(v)
                                       for k, v in job["substitutions"].items()}
        if job.get("default_graph") is not None:
            kwargs["default_graph"] = [decode_ox(("uri", g)) for g in job["default_graph"]]
            kwargs.pop("use_default_graph_as_union")
        if job.get("named_graphs") is not None:
            kwargs["named_graphs"] = [decode_ox(("uri", g)) for g in job["named_graphs"]]
        with engine_errors():
            return _collect(store.raw.query(job["text"], **kwargs), max_rows, max_bytes, started)
    if job["op"] == "named":
        from .query import named_query, run_named

        query = named_query(job["name"])
        # a page asked is cut by the query with its plan (kg.query.Page), max_rows bounding it;
        # with none asked, max_rows bounds the answer: a bound, not a page, so without a plan
        paged = job.get("limit") is not None
        limit = min(job["limit"], max_rows) if paged else max_rows
        result = run_named(store, job["name"], job["params"], limit=limit,
                           offset=job.get("offset", 0), plan=paged)
        elapsed = time.monotonic() - started
        if result.boolean is not None:
            return RawResult("ask", boolean=result.boolean, elapsed=elapsed)
        kind = "triples" if _query_form(query.text) in ("CONSTRUCT", "DESCRIBE") else "select"
        rows = [tuple(encode_term(row.get(v)) for v in result.vars) for row in result.rows]
        return RawResult(kind, list(result.vars), rows, truncated=result.truncated,
                         elapsed=elapsed)
    if job["op"] == "warm":  # every listing's first page and the name index kept beside it
        from .query import warm_store

        done, took = warm_store(store, rows=job["rows"])
        return RawResult("select", ["listing", "seconds", "kept"],
                         [(w.name, w.seconds, w.kept) for w in done]
                         + [(NAME_INDEX, took or 0.0, True)],
                         elapsed=time.monotonic() - started)
    if job["op"] == "sleep":  # for tests: a job that runs past any time limit
        time.sleep(job["seconds"])
        return RawResult("ask", boolean=True, elapsed=time.monotonic() - started)
    raise QueryError(f"unknown job {job['op']!r}")


def _worker_main(store_path: str, conn, memory_limit, isolate: bool) -> None:
    """Entry point of a worker process: open the store, then answer jobs until told to stop."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.environ["RUST_BACKTRACE"] = "0"  # a query that runs out of memory dies quietly
    isolated = _isolate_network() if isolate else False
    try:
        from .store import Store

        store = Store(store_path, read_only=True)
        _warm_up(store)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(_error_payload(exc))
        return
    _limit_memory(memory_limit)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    conn.send(("ready", os.getpid(), isolated))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            reply = ("ok", _run_job(store, job))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back as a message
            reply = _error_payload(exc)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
            conn.send(_error_payload(exc))
        if reply[0] == "ok" and (reply[1].elapsed or 0) >= RENEW_AFTER:
            try:
                store = _renewed(store)
            except Exception:  # noqa: BLE001 - the store it has still answers
                pass


#: Functions whose value differs between two runs of the same query (SPARQL 1.1, 17.4).
_VOLATILE = re.compile(r"\b(NOW|RAND|UUID|STRUUID)\s*\(", re.I)


def _job_key(job: dict) -> tuple:
    """A hashable form of a job (its values: strings, lists, dicts of them, encoded terms)."""
    def frozen(value):
        if isinstance(value, dict):
            return tuple(sorted((k, frozen(v)) for k, v in value.items()))
        if isinstance(value, (list, tuple)):
            return tuple(frozen(v) for v in value)
        return value

    return frozen(job)


class _Answers:
    """Answers already given, kept until the store changes: asked again, a question is a lookup.

    Keyed by the state of the store the answer came from (the runner's epoch) and the job; at
    most ``max_rows`` rows in all, the least recently asked dropped first. An answer is a pure
    function of the two, so a kept one is the answer a worker would give; a listing of the
    100k-article store took seconds to compute each time.
    """

    def __init__(self, max_rows: int):
        from collections import OrderedDict

        self.max_rows = max(0, int(max_rows))
        self._kept: OrderedDict = OrderedDict()
        self._rows = 0
        self._epoch = 0  # the latest state of the store an answer came from
        self._lock = threading.Lock()

    @staticmethod
    def _size(result: RawResult) -> int:
        return len(result.rows) + 1

    def get(self, epoch: int, job: tuple) -> RawResult | None:
        with self._lock:
            found = self._kept.get((epoch, job))
            if found is not None:
                self._kept.move_to_end((epoch, job))
            return found

    def put(self, epoch: int, job: tuple, result: RawResult) -> None:
        size = self._size(result)
        if size > self.max_rows:
            return
        with self._lock:
            if epoch < self._epoch:  # an answer from before a change, come back late
                return
            if epoch > self._epoch:  # the store changed: what was kept is no one's answer
                self._epoch = epoch
                self._kept.clear()
                self._rows = 0
            if (epoch, job) in self._kept:
                return
            self._kept[(epoch, job)] = result
            self._rows += size
            while self._rows > self.max_rows:
                self._rows -= self._size(self._kept.popitem(last=False)[1])


# --- the pool -----------------------------------------------------------------------------------

class _Worker:
    def __init__(self, ctx, store_path, memory_limit, isolate, epoch: int = 0):
        #: Which state of the store the worker opened (:attr:`QueryRunner._epoch`).
        self.epoch = epoch
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, name="kg-query-worker", daemon=True,
                                args=(str(store_path), child, memory_limit, isolate))
        self.proc.start()
        child.close()
        self.isolated = False
        self.ready = False

    def wait_ready(self, timeout: float, cancelled=lambda: False) -> None:
        deadline = time.monotonic() + timeout
        # Poll in short steps so a pool being closed need not wait for a slow start.
        while not self.conn.poll(min(0.1, max(0.0, deadline - time.monotonic()))):
            if cancelled() or time.monotonic() >= deadline:
                self.kill()
                if cancelled():
                    raise StoreError("the query runner was closed while a worker started")
                raise StoreError(f"a query worker did not start within {timeout:g} s")
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            self.kill()
            raise StoreError("a query worker died while opening the store") from None
        if message[0] != "ready":
            self.kill()
            raise _rebuild(message)
        self.isolated = bool(message[2])
        self.ready = True

    def kill(self) -> None:
        try:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(5)
        except (OSError, ValueError, AssertionError):
            pass
        try:
            self.conn.close()
        except OSError:
            pass


def _rebuild(message) -> Exception:
    _, name, text, candidates = message
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, KGError)):
        return QueryError(text)
    if name in ("UnknownEntity", "AmbiguousEntity"):
        return cls(text, candidates=candidates)
    return cls(text)


def _name(var) -> str:
    name = getattr(var, "value", None) or str(var)
    return name.lstrip("?$")


class QueryRunner:
    """A small pool of worker processes answering SPARQL over an on-disk store, with a time limit.

    Parameters
    ----------
    store_path : path
        The store directory (``<build>/store``), opened read-only by every worker.
    timeout : float
        Seconds a query may run; past that its worker is killed and :class:`QueryTimeout` raised.
    max_rows : int
        Rows (or triples) kept; more are dropped and the result marked ``truncated``.
    workers : int
        Worker processes kept ready (each holds the store open).
    memory_limit : int or None
        Address space a worker may map beyond what its opened store maps, in bytes; None for no
        limit.
    union_default_graph : bool
        Let the default graph of free queries be the union of all graphs. Off by default, as in
        :func:`kg.query.run_sparql`: every fact is in a named graph, reached with ``GRAPH ?g``.
    isolate_network : bool
        Put each worker in a network namespace of its own (Linux, best effort).
    follow_every : float
        Seconds between looks at whether the store changed. A store opened read-only shows the
        state it was opened on, so when ``kg add``, ``kg remove``, ``kg optimize`` or a new
        ``kg build`` (a new generation behind the same path) has changed it, the workers are
        replaced by ones that open it again: a question asked that long after the change sees
        it. A look lists the store's files (0.3 ms for the store of 100k articles).
    keep_rows : int
        Answers are kept, up to this many rows in all, and given again when the same question
        (the same text, dataset and bindings, or the same named question and parameters) is
        asked of the same state of the store; 0 keeps none. A change of the store, once seen
        (``follow_every``), drops them. A row kept takes 1-2 kB (100k articles: the first
        10,000 rows of the timeline, 10.4 s to compute, 14 MB; given again in 0.8 ms).
    warm : bool
        Keep every listing's first page and the name index made beside the store
        (:func:`kg.query.warm`, :func:`kg.query.warm_names`), as ``kg build`` leaves them:
        when the runner starts, and again each time the store has changed and then stayed
        unchanged for ``warm_settle`` seconds (a stream of ``kg add`` is warmed once, after
        it). The pages are made by a process of their own, not by a worker of the pool, and
        one that takes over ``warm_timeout`` seconds is stopped; what it kept by then stays
        kept. :meth:`wait_warm` waits for one; :attr:`warmed` says what the last one did. The
        runner then also looks at the store without waiting for a question, and replaces its
        idle workers as soon as it sees a change, so that the first question after it does
        not wait for a worker to start.

    Raises
    ------
    StoreError
        The store cannot be opened, or no worker could start; :class:`~kg.errors.StaleStore`
        when an older kg counted its derived facts (also raised by a question, when the store
        was replaced by such a one).

    Examples
    --------
    >>> import tempfile
    >>> from kg.pipeline import DEFAULT_DATA, build
    >>> out = tempfile.mkdtemp()
    >>> _ = build(DEFAULT_DATA, out, validate=False)
    >>> with QueryRunner(f"{out}/store", timeout=5, workers=1) as runner:
    ...     int(runner.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?c a kg:Claim } }")
    ...         .rows[0]["n"])
    141
    """

    def __init__(self, store_path, *, timeout: float = 10.0, max_rows: int = 10_000,
                 workers: int = 2, memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
                 max_bytes: int = DEFAULT_MAX_BYTES, union_default_graph: bool = False,
                 isolate_network: bool = True, start_timeout: float = 60.0,
                 follow_every: float = 1.0, keep_rows: int = 50_000, warm: bool = False,
                 warm_settle: float = 2.0, warm_timeout: float = 600.0):
        self.store_path = Path(store_path)
        self.timeout = float(timeout)
        self.max_rows = int(max_rows)
        self.max_bytes = int(max_bytes)
        self.size = max(1, int(workers))
        self.memory_limit = memory_limit
        self.union_default_graph = union_default_graph
        self.isolate_network = isolate_network
        self.start_timeout = start_timeout
        self.follow_every = follow_every
        self.warm_settle, self.warm_timeout = float(warm_settle), float(warm_timeout)
        #: What the last warm did: ``(epoch, [(listing, seconds, kept), ...])``, the name
        #: index last (:data:`NAME_INDEX`, 0 seconds if it was kept already), or
        #: ``(epoch, error message)``; None before the first ends.
        self.warmed = None
        self._warms = 0                      # warms ended, for wait_warm
        self._warm_cond = threading.Condition()
        self._warm_worker: _Worker | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._changed_at = float("-inf")     # when the store was last seen to change
        self._epoch = 0
        self._answers = _Answers(keep_rows)
        # graphs: the named graphs the store holds, the only ones FROM / FROM NAMED may name
        self._seen, self.graphs = self._look()  # fails early, with a clear message
        self._looked_at = time.monotonic()
        self._follow_lock = threading.Lock()
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._starting = 0
        self._starters: list[threading.Thread] = []
        self._closed = False
        self._last_start_error: Exception | None = None
        started = [self._start_worker() for _ in range(self.size)]
        try:
            for w in started:
                w.wait_ready(self.start_timeout)
        except Exception:
            self.close()
            raise
        for w in started:
            self._idle.put(w)
        if warm:
            self._watcher = threading.Thread(target=self._watch, name="kg-warm", daemon=True)
            self._watcher.start()

    # -- the store

    def _identity(self) -> tuple:
        """What says the store changed: the directory its path leads to (a build publishes a
        new generation behind it) and a digest of its files (every write changes it)."""
        from .store import _files_stamp

        real = Path(os.path.realpath(self.store_path))
        return str(real), _files_stamp(real)

    def _look(self) -> tuple[tuple, frozenset]:
        """The store's identity and named graphs, checked current (:mod:`kg.derive`)."""
        import pyoxigraph as ox

        from .derive import open_current

        seen = self._identity()
        with open_current(self.store_path) as store:
            graphs = frozenset(g.value for g in store.raw.named_graphs()
                               if isinstance(g, ox.NamedNode))
        return seen, graphs

    def _follow(self) -> None:
        """If the store changed since the workers opened it, have new workers open it again."""
        if time.monotonic() - self._looked_at < self.follow_every:
            return
        with self._follow_lock:
            if time.monotonic() - self._looked_at < self.follow_every:
                return
            self._looked_at = time.monotonic()
            if self._identity() == self._seen:
                return
            self._seen, self.graphs = self._look()
            self._epoch += 1  # workers of an older epoch are replaced as they come back
            self._changed_at = time.monotonic()

    # -- keeping the listings' first pages made

    def _watch(self) -> None:
        """Look at the store every ``follow_every`` seconds; warm each state of it that has
        lasted ``warm_settle`` seconds (the state the runner starts on at once)."""
        warmed = seen = None
        while not self._stop.is_set():
            try:
                self._follow()
            except Exception:  # noqa: BLE001 - a question will report it; look again later
                pass
            epoch = self._epoch
            if seen is not None and epoch != seen:
                self._renew_idle()
            seen = epoch
            if warmed != epoch and time.monotonic() - self._changed_at >= self.warm_settle:
                self._warm_once(epoch)
                warmed = epoch
            self._stop.wait(self.follow_every)

    def _renew_idle(self) -> None:
        """Replace the idle workers that opened an older state of the store now, rather than
        when a question next takes one (which would then wait for a new worker to start)."""
        for w in self._take_idle():
            if w.epoch == self._epoch and w.proc.is_alive():
                self._idle.put(w)
            else:
                self._discard(w)

    def _take_idle(self) -> list[_Worker]:
        """Every worker waiting in the pool now, taken out of it."""
        idle = []
        while True:
            try:
                idle.append(self._idle.get_nowait())
            except queue.Empty:
                return idle

    def _warm_once(self, epoch: int) -> None:
        """Warm the store in a process of its own (a worker outside the pool, so that the
        pool keeps answering) and record what it did in :attr:`warmed`."""
        w = None
        try:
            w = _Worker(self._ctx, self.store_path, self.memory_limit, self.isolate_network,
                        epoch)
            self._warm_worker = w
            if self._stop.is_set():
                return
            w.wait_ready(self.start_timeout, cancelled=self._stop.is_set)
            from .query import WARM_ROWS

            w.conn.send({"op": "warm", "rows": WARM_ROWS, "max_rows": self.max_rows,
                         "max_bytes": self.max_bytes})
            if not w.conn.poll(self.warm_timeout):
                raise QueryTimeout(f"warming stopped after {self.warm_timeout:g} s")
            message = w.conn.recv()
            if message[0] != "ok":
                raise _rebuild(message)
            outcome = [tuple(row) for row in message[1].rows]
            w.conn.send(None)  # done: asked to stop, as an idle worker is at close
            w.proc.join(5)
        except Exception as exc:  # noqa: BLE001 - kept for whoever asks; questions still work
            outcome = f"{type(exc).__name__}: {exc}"
        finally:
            if w is not None:
                w.kill()  # if it has not stopped by itself
            self._warm_worker = None
        if self._stop.is_set():
            return
        with self._warm_cond:
            self.warmed = (epoch, outcome)
            self._warms += 1
            self._warm_cond.notify_all()

    def wait_warm(self, count: int = 1, timeout: float = 60.0) -> bool:
        """Wait until ``count`` warms have ended since the runner started; True if so."""
        with self._warm_cond:
            return self._warm_cond.wait_for(lambda: self._warms >= count, timeout)

    # -- workers

    def _start_worker(self) -> _Worker:
        w = _Worker(self._ctx, self.store_path, self.memory_limit, self.isolate_network,
                    self._epoch)
        with self._lock:
            self._workers.add(w)
        return w

    def _replace(self) -> None:
        """Start a worker in the background and add it to the pool once it is ready."""

        def run():
            try:
                for attempt in range(3):
                    if self._closed:
                        return
                    w = self._start_worker()
                    try:
                        w.wait_ready(self.start_timeout, cancelled=lambda: self._closed)
                    except Exception as exc:  # noqa: BLE001 - kept to report on the next query
                        self._forget(w)
                        if self._closed:
                            return
                        self._last_start_error = exc
                        time.sleep(0.5 * (attempt + 1))
                        continue
                    if self._closed:
                        self._forget(w)
                    else:
                        self._idle.put(w)
                    return
            finally:
                with self._lock:
                    self._starting -= 1

        starter = threading.Thread(target=run, name="kg-worker-start", daemon=True)
        with self._lock:  # one block, so close() either sees this starter or stops it here
            if self._closed:
                return
            self._starting += 1
            self._starters = [t for t in self._starters if t.is_alive()] + [starter]
            starter.start()

    def _forget(self, w: _Worker) -> None:
        w.kill()
        with self._lock:
            self._workers.discard(w)

    def _discard(self, w: _Worker) -> None:
        self._forget(w)
        self._replace()

    def _acquire(self, deadline: float) -> _Worker:
        while True:
            if self._closed:
                raise QueryError("the query runner is closed")
            with self._lock:
                dead = not self._workers and not self._starting
            if dead:
                raise StoreError(f"no query worker could be started: {self._last_start_error}")
            try:
                w = self._idle.get(timeout=min(0.5, max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise WorkersBusy(f"every query worker stayed busy for {self.timeout:g} s; "
                                      "try again later") from None
                continue
            if w.proc.is_alive() and w.epoch == self._epoch:
                return w
            self._discard(w)

    def _answer(self, job: dict) -> RawResult:
        """The answer kept for ``job`` in the store's state, or a worker's, then kept (not for
        a query whose answer changes from one run to the next: NOW(), RAND(), UUIDs; a blank
        node's label is the answer's own, so one kept is as good as a new one)."""
        if job["op"] == "sparql" and _VOLATILE.search(job["text"]):
            return self._call(job)[0]
        key = _job_key(job)
        kept = self._answers.get(self._epoch, key)
        if kept is not None:
            return kept
        result, epoch = self._call(job)
        self._answers.put(epoch, key, result)
        return result

    def _call(self, job: dict) -> tuple[RawResult, int]:
        """A worker's answer to ``job``, with the epoch of the store state it opened."""
        job = {"max_rows": self.max_rows, "max_bytes": self.max_bytes, **job}
        w = self._acquire(time.monotonic() + self.timeout)
        epoch = w.epoch  # the state of the store the answer comes from
        try:
            w.conn.send(job)
            if not w.conn.poll(self.timeout):
                self._discard(w)
                w = None
                raise QueryTimeout(
                    f"query stopped after {self.timeout:g} s (the time limit): it was taking "
                    "too long. Narrow it (add LIMIT, bind more variables, avoid unbounded "
                    "property paths and cartesian products) and try again")
            message = w.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            if w is not None:
                self._discard(w)
                w = None
            if self._closed:
                raise QueryError("the query runner was closed while the query ran") from None
            raise QueryError("the query worker died while running the query (it may have run "
                             "out of memory); a new one has been started") from None
        finally:
            if w is not None:
                if self._closed:
                    self._forget(w)
                else:
                    self._idle.put(w)
        if message[0] == "ok":
            return message[1], epoch
        raise _rebuild(message)

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the workers now in the pool."""
        with self._lock:
            return sorted(w.proc.pid for w in self._workers if w.proc.pid is not None)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the pool is full and every worker idle (after a kill, say); True if so."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._idle.qsize() >= self.size:
                return True
            time.sleep(0.05)
        return False

    @property
    def network_isolated(self) -> bool:
        """Whether every ready worker runs without network access."""
        with self._lock:
            ready = [w for w in self._workers if w.ready]
        return bool(ready) and all(w.isolated for w in ready)

    # -- queries

    def check(self, text: str) -> None:
        """Refuse ``text`` unless it is a read-only query over this store (see kg.safety)."""
        from .safety import check_query

        with self._check_lock:  # the rdflib/pyparsing parser is shared module state
            check_query(text, graphs=self.graphs)

    def _check_graphs(self, iris, what: str) -> list[str] | None:
        if iris is None:
            return None
        iris = [str(i) for i in iris]
        for iri in iris:
            if iri not in self.graphs:
                raise UnsafeQuery(f"{what} <{iri}> is refused: only graphs held in the "
                                  "store may be named")
        return iris

    def select(self, text: str, substitutions=None, *, default_graph=None, named_graphs=None,
               raw: bool = False):
        """Run a SPARQL query (any form: SELECT, ASK, CONSTRUCT, DESCRIBE) given as text.

        The text is checked with :func:`kg.safety.check_query` (against the store's named
        graphs) before the engine sees it. The check runs in the worker, as the first step of the
        job and under the same time limit: parsing is slow in pure Python (tens of seconds for
        some 100 kB texts), and there it cannot hold up the caller or other queries. The
        project's prefixes are predeclared. ``substitutions`` binds variables (by name) to
        terms (rdflib, pyoxigraph or encoded tuples) without touching the text.
        ``default_graph`` / ``named_graphs`` (the protocol's ``default-graph-uri`` /
        ``named-graph-uri``) may only name graphs of the store.

        Returns a :class:`kg.query.QueryResult` of rdflib terms, or with ``raw=True`` the
        :class:`RawResult` (which also says whether it was a CONSTRUCT).

        Raises
        ------
        UnsafeQuery
            SERVICE, an update, or a dataset outside the store.
        QueryTimeout
            The query ran past ``timeout`` (:class:`WorkersBusy`: it never got a worker).
        QueryError
            Bad syntax or a failure in the engine.
        """
        if not isinstance(text, str) or not text.strip():
            raise QueryError("empty query")
        if len(text) > MAX_QUERY_CHARS:
            raise UnsafeQuery(f"query is {len(text)} characters, over {MAX_QUERY_CHARS}")
        self._follow()  # first: the graphs a dataset may name are those of the store as it is
        job = {"op": "sparql", "text": text, "union": self.union_default_graph,
               "default_graph": self._check_graphs(default_graph, "default-graph-uri"),
               "named_graphs": self._check_graphs(named_graphs, "named-graph-uri")}
        if substitutions:
            job["substitutions"] = {_name(k): encode_term(v) for k, v in substitutions.items()}
        result = self._answer(job)
        return result if raw else result.to_query_result()

    query = select

    def named(self, name: str, params: dict[str, str] | None = None, *, raw: bool = False,
              limit: int | None = None, offset: int = 0):
        """Run the named query ``name`` (see :func:`kg.query.run_named`) in a worker: the page
        ``limit``/``offset`` of its answer (``limit`` at most :attr:`max_rows`, the default).

        Raises
        ------
        ParameterError
            A bad page (:class:`kg.query.Page`), before any worker is asked.
        """
        from .query import Page

        page = Page(limit, offset)  # checked here: a bad page costs no worker
        self._follow()
        result = self._answer({"op": "named", "name": name, "params": dict(params or {}),
                               "limit": page.limit, "offset": page.offset})
        return result if raw else result.to_query_result()

    # -- life cycle

    def close(self) -> None:
        """Stop every worker (idle ones are asked, busy ones killed)."""
        with self._lock:
            self._closed = True
            starters = list(self._starters)
        self._stop.set()
        warming = self._warm_worker
        if warming is not None:
            warming.kill()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(10.0)
        # A worker being started must finish receiving its start-up data before it is stopped:
        # a process that exits half-way through spawning one leaves the child printing an
        # EOFError traceback on the terminal.
        for starter in starters:
            starter.join(10.0)
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        idle = self._take_idle()
        for w in idle:
            try:
                w.conn.send(None)
            except (OSError, ValueError):
                pass
        for w in idle:
            w.proc.join(1.0)
        for w in workers:
            w.kill()

    def __enter__(self) -> "QueryRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            if not self._closed:
                self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
