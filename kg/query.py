"""Stage 5: questions. Named SPARQL queries stored as data, run with bound parameters.

A named query is a ``.rq`` file in ``kg/queries/`` whose header declares it::

    #+ name: meetings
    #+ description: The meetings an actor attended, was expected at or missed.
    #+ param: actor actor   The actor, by name, alias or IRI
    #+ param: status attendance?   Only this attendance (optional)

Parameters are written ``$name`` in the query body and result variables ``?name``, so the
parameters a query uses can be read off its text (``tests/test_queries.py`` checks they match the
declaration). Values are always bound as RDF terms, never pasted into the text: each is written
in its N-Triples form (escaped by Oxigraph) into a ``VALUES`` block that opens the query's WHERE
group and every sub-SELECT using it, the standard form of rdflib's ``initBindings``. A value
containing ``"} UNION {`` is just an odd name. Oxigraph's planner sees a ``VALUES`` constant,
so a pattern on a parameter is an index lookup; values given through ``substitutions`` are bound
only after planning (measured: a two-hop question 106 ms against 1.3 ms, ``docs/queries.md``).
An optional parameter left out stays unbound: a ``#+ if NAME`` block (see
:meth:`NamedQuery.sparql_for`) gives the query's text without it.

Names given for ``actor``/``entity`` parameters are resolved against the labels and aliases in the
graph; an unknown or ambiguous name raises :class:`~kg.errors.UnknownEntity` /
:class:`~kg.errors.AmbiguousEntity` listing candidates.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import os
import re
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import pyoxigraph as ox

from . import iris
from .errors import AmbiguousEntity, ParameterError, QueryError, UnknownEntity
from .kept_answers import KeptAnswers
from .memory import paused_gc
from .store import (Store, engine_errors, from_ox, keep_beside, kept_beside, read_kept,
                    to_ox)
from .vocab import NAMESPACES

__all__ = ["Param", "Page", "NamedQuery", "QueryResult", "load_queries", "named_query",
           "run_named", "run_named_text", "run_sparql", "bind_values", "without_lateral",
           "resolve_name", "evidence", "claims_of", "describe", "listings", "warm", "Warmed",
           "warm_names", "warm_store", "WARM_ROWS", "QUERY_DIR", "PARAM_KINDS", "PREFIXES",
           "RESERVED"]

QUERY_DIR = Path(__file__).resolve().parent / "queries"

#: What a parameter may be: how its value is read and which graph classes a name may match.
PARAM_KINDS = {
    "actor": "sem:Actor", "meeting": "kg:Meeting", "pledge": "kg:Pledge", "topic": None,
    "entity": None, "measure": "kg:Measure", "outlet": "schema:NewsMediaOrganization",
    "date": "xsd:date", "text": "xsd:string", "iri": "IRI", "int": "xsd:integer",
    "attendance": "kg:AttendanceStatus", "step": "kg:PledgeStatus",
    # a text matched against the names of every actor: bound to all the actors it matches
    "actors": "sem:Actor",
}
_ENUM_TERMS = {
    "attendance": {"expected": "Expected", "attended": "Attended", "absent": "Absent",
                   "declined": "Declined"},
    "step": {"made": "Made", "reaffirmed": "Reaffirmed", "partly_kept": "PartlyKept",
             "kept": "Kept", "stalled": "Stalled", "suspended": "Suspended",
             "resumed": "Resumed", "broken": "Broken"},
}
PREFIXES = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in NAMESPACES.items())
_HEADER = re.compile(r"^#\+\s*(\w+)\s*:\s*(.*?)\s*$")
_PARAM = re.compile(r"^(\w+)\s+(\w+)(\?)?\s*(.*)$")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    optional: bool = False
    description: str = ""


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[Param, ...]
    text: str
    path: Path

    @property
    def sparql(self) -> str:
        """The query with every optional parameter left out (see :meth:`sparql_for`)."""
        return self.sparql_for(())

    def sparql_for(self, given, *, lateral: bool = True, page: "Page | None" = None,
                   plan: bool = True) -> str:
        """The query for the parameters named in ``given``: the project's prefixes, then the
        body with its ``#+ if NAME`` blocks resolved; with ``lateral=False``, its ``LATERAL``
        groups spliced into their enclosing group (:func:`without_lateral`), for engines that
        only know SPARQL 1.1 (Virtuoso, rdflib).

        A block ``#+ if NAME`` ... [``#+ else`` ...] ``#+ end`` keeps its first part when the
        parameter ``NAME`` is given and its ``else`` part otherwise. Only the *presence* of a
        parameter chooses the text; values never enter it (they are bound as ``VALUES``). Blocks
        let a question start from its parameter when there is one (an index lookup) and list
        everything when there is none, instead of one text that filters with
        ``$p = kg:Any || ...``, which Oxigraph evaluates by scanning everything.

        With a ``page`` (:class:`Page`), the query is cut to it: ``LIMIT``/``OFFSET`` after
        its ``ORDER BY``, one row more than the page to tell whether more follow. With
        ``lateral`` too, ``page`` counts as given, so a ``#+ if page`` block may find the
        page's rows another way (its own plan, say from a kept count), where a line
        ``#+ page last row`` becomes ``LIMIT 1 OFFSET n``, n the index of that extra row.
        Such a plan must find a *prefix* of the rows of the query without it, in the same
        order (say every row whose first sort key reaches a threshold): then the page is right
        whenever the plan gives all its rows and the extra one, and :func:`run_named` asks a
        page the plan gave short again without it (``plan=False``): the end of the answer,
        or a threshold taken from kept counts that do not match the rows (a store filled by
        hand). ``tests/test_pages.py`` checks every page of every named query. Plans are not
        used for other engines, which get the query without them, cut the same way.
        """
        given = set(given)
        paged = page is not None and page.limit is not None and lateral and plan
        if paged:
            given.add("page")
        body = _resolve_blocks(self.text, given, self.path, self.name,
                               page=page if paged else None)
        text = PREFIXES + _cut(body, page, self.cuts_itself)
        return text if lateral else without_lateral(text, path=self.path, name=self.name)

    def bound(self, bindings: dict, *, lateral: bool = True, page: "Page | None" = None,
              plan: bool = True) -> str:
        """The text to run for ``bindings`` (what :func:`_bind` returned): the blocks chosen
        by which parameters are bound, and their values as ``VALUES`` (:func:`bind_values`);
        ``lateral``, ``page`` and ``plan`` as in :meth:`sparql_for`."""
        given = {v.value if isinstance(v, ox.Variable) else str(v) for v in bindings}
        text = bind_values(self.sparql_for(given, lateral=True, page=page if lateral else None,
                                           plan=plan), bindings)
        if not lateral:
            text = _cut(text, page, self.cuts_itself)
        # spliced after binding, so that a subquery inside LATERAL stays without VALUES
        return text if lateral else without_lateral(text, path=self.path, name=self.name)

    @cached_property
    def cuts_itself(self) -> bool:
        """Whether the query cuts its own answer (``LIMIT``/``OFFSET`` after its last group),
        read once per query: the text is tokenized for it (0.2 ms, as long as a small
        question takes)."""
        return _own_cut(self.text)

    @property
    def used_params(self) -> set[str]:
        """The ``$name`` variables the query body uses (comments excluded)."""
        body = "\n".join(line for line in self.text.splitlines()
                         if not line.lstrip().startswith("#"))
        return set(_DOLLAR.findall(body))


_BLOCK = re.compile(r"^\s*#\+\s*(if\s+([A-Za-z_]\w*)|else|end|page\s+last\s+row)\s*$")
#: What ``#+ if`` may name besides the query's parameters (see :meth:`NamedQuery.sparql_for`);
#: also the URL parameters of ``kg serve``, so no parameter may be called so.
RESERVED = ("page", "limit", "offset", "format")


@dataclass(frozen=True)
class Page:
    """The rows ``offset`` to ``offset + limit`` of an answer, in its order (``limit=None``:
    all rows after ``offset``).

    Raises
    ------
    ParameterError
        ``limit`` below 1 or ``offset`` below 0, or either not a whole number.

    Examples
    --------
    >>> Page(20, 40).last_row
    60
    >>> Page(0)
    Traceback (most recent call last):
    ...
    kg.errors.ParameterError: a page's limit must be a whole number from 1, not 0
    """

    limit: int | None = None
    offset: int = 0

    def __post_init__(self):
        if self.limit is not None and (type(self.limit) is not int or self.limit < 1):
            raise ParameterError(f"a page's limit must be a whole number from 1, "
                                 f"not {self.limit!r}")
        if type(self.offset) is not int or self.offset < 0:
            raise ParameterError(f"a page's offset must be a whole number from 0, "
                                 f"not {self.offset!r}")

    @property
    def last_row(self) -> int:
        """The index of the row after the page, read to tell whether more rows follow."""
        return self.offset + self.limit


def _cut(text: str, page: "Page | None", own: bool) -> str:
    """``text`` with ``LIMIT``/``OFFSET`` for ``page`` after its last clause (one row more than
    the page: :func:`_read` reads it only to say the answer was cut). Both are integers checked
    by :class:`Page`, never text from outside. A query that cuts its own answer (``own``: a
    ``LIMIT`` or ``OFFSET`` after its last group, see :attr:`NamedQuery.cuts_itself`) is left
    alone; :func:`_execute` cuts what it reads."""
    if page is None or own:
        return text
    tail = f"\nLIMIT {page.limit + 1}" if page.limit is not None else ""
    return text.rstrip() + tail + (f"\nOFFSET {page.offset}" if page.offset else "") + "\n"


def _own_cut(text: str) -> bool:
    """Whether a ``LIMIT`` or ``OFFSET`` follows the query's last closing brace."""
    tokens = [t for t in _tokens(text) if t[0] not in ("space", "comment")]
    last = max((i for i, (k, t) in enumerate(tokens) if k == "punct" and t == "}"), default=-1)
    return any(k == "word" and t.upper() in ("LIMIT", "OFFSET") for k, t in tokens[last + 1:])


def _resolve_blocks(text: str, given: set[str], path=None, name=None, declared=None,
                    page: Page | None = None) -> str:
    """``text`` with its ``#+ if`` blocks resolved for the parameters ``given`` and its
    ``#+ page last row`` lines for ``page``; with ``declared``, an ``#+ if`` naming no declared
    parameter (nor ``page``) is refused too, and so is a ``#+ page last row`` line outside an
    ``#+ if page`` block."""
    out, stack = [], []            # stack of (keeping this part?, seen else?, name)
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        match = _BLOCK.match(line)
        if match is None:
            if all(keep for keep, _, _ in stack):
                out.append(line)
            continue
        word = match.group(1).split()[0]
        if word == "page":
            if declared is not None and not any(n == "page" and not e for _, e, n in stack):
                raise QueryError(f"line {number}: '#+ page last row' outside an '#+ if page' "
                                 "block", file=path, item=name)
            keep = all(k for k, _, _ in stack)
            out.append(f"LIMIT 1 OFFSET {page.last_row}\n" if keep and page else "\n")
            continue
        if word == "if":
            if declared is not None and match.group(2) not in declared | {"page"}:
                raise QueryError(f"'#+ if {match.group(2)}' names no declared parameter",
                                 file=path, item=name)
            stack.append((match.group(2) in given, False, match.group(2)))
        elif not stack or (word == "else" and stack[-1][1]):
            raise QueryError(f"line {number}: '#+ {word}' without its '#+ if'", file=path,
                             item=name)
        elif word == "else":
            stack[-1] = (not stack[-1][0], True, stack[-1][2])
        else:
            stack.pop()
        out.append("\n")          # keep line numbers for error messages
    if stack:
        raise QueryError("a '#+ if' block is not closed by '#+ end'", file=path, item=name)
    return "".join(out)


@dataclass
class QueryResult:
    """Rows of a SELECT (``vars`` + ``rows`` of rdflib terms), or a boolean for ASK."""

    vars: list[str]
    rows: list[dict] = field(default_factory=list)
    boolean: bool | None = None
    truncated: bool = False


def _parse_header(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    meta: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            meta.setdefault(match.group(1), []).append(match.group(2))
    name = (meta.get("name") or [path.stem])[0]
    if name != path.stem:
        raise QueryError(f"declared name {name!r} differs from the file name", file=path)
    params = []
    for spec in meta.get("param", []):
        match = _PARAM.match(spec)
        if not match or match.group(2) not in PARAM_KINDS:
            raise QueryError(f"bad parameter declaration {spec!r}: want 'NAME KIND[?] text' "
                             f"with KIND in {', '.join(PARAM_KINDS)}", file=path, item=name)
        if match.group(1) in RESERVED:
            raise QueryError(f"a parameter may not be called {match.group(1)!r}: "
                             f"{', '.join(RESERVED)} are kept for pages and formats",
                             file=path, item=name)
        params.append(Param(match.group(1), match.group(2), bool(match.group(3)),
                            match.group(4)))
    _resolve_blocks(text, set(), path, name, declared={p.name for p in params})
    description = " ".join(meta.get("description", []))
    if not description:
        raise QueryError("a named query needs a '#+ description:' line", file=path, item=name)
    return NamedQuery(name, description, tuple(params), text, path)


@lru_cache(maxsize=8)
def load_queries(directory: str = str(QUERY_DIR)) -> dict[str, NamedQuery]:
    """Every named query in ``directory``, by name."""
    return {p.stem: _parse_header(p) for p in sorted(Path(directory).glob("*.rq"))}


def named_query(name: str) -> NamedQuery:
    """The named query ``name``; an unknown name lists the known ones."""
    queries = load_queries()
    if name not in queries:
        raise QueryError(f"no query named {name!r}; known: {', '.join(sorted(queries))}",
                         item=name)
    return queries[name]


# --- names -> IRIs ------------------------------------------------------------------------------

_LABELS = PREFIXES + """
SELECT ?e ?name WHERE { GRAPH ?g { ?e rdfs:label|skos:altLabel ?name } }"""
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


class _NameIndex:
    """Labels and aliases in a store, normalised for lookup; built once per store.

    Made from ``rows``, (node, name) pairs, and ``types``, node -> class IRIs, as
    :func:`_read_names` finds them in a store (or :func:`_index` in the file it keeps them in).
    """

    def __init__(self, rows, types, keys=None):
        from .entities import name_key

        self.key = name_key
        #: ``name_key`` of each row's name, in row order (what the file keeps, so that reading
        #: it does not normalise every name again: 0.4 of 0.95 s at 100k articles)
        self.row_keys = list(keys) if keys is not None else [name_key(n) for _e, n in rows]
        if len(self.row_keys) != len(rows):
            raise ValueError("one key per row")
        self.names: dict[str, tuple[str, ...]] = {}
        self.types: dict[str, tuple[str, ...]] = {e: set(found) for e, found in types.items()}
        self.labels: dict[str, str] = {}
        self.spelled: dict[str, tuple[str, ...]] = {}  # lower-cased label or alias -> nodes
        self._by_class: dict[str, tuple] = {}
        for (e, name), key in zip(rows, self.row_keys):
            self.names.setdefault(key, set()).add(e)
            self.spelled.setdefault(name.lower(), set()).add(e)
            self.labels.setdefault(e, name)
        # the IRI's last segment (the registry key) is a name too
        for e in self.types:
            self.names.setdefault(self.key(e.rsplit("/", 1)[-1]), set()).add(e)
        # Kept as tuples: sets are always tracked by the cyclic garbage collector, and at 100k
        # articles the index's 150k sets made every full collection of the process that holds
        # it 70 ms instead of 22 (a `kg serve` worker's p95); the collector untracks a tuple of
        # strings the first time it sees one.
        for found in (self.names, self.types, self.spelled):
            for k, v in found.items():
                found[k] = tuple(sorted(v))

    def containing(self, text: str, cls: str | None) -> list[str]:
        """The nodes of class ``cls`` (an IRI; None: any) with a label or alias containing
        ``text``, ignoring case (SPARQL's ``CONTAINS(LCASE(?name), LCASE(text))``), sorted.

        The names of that class are kept per class as one string, which ``str.find`` searches
        in C; each hit is mapped to its name by bisection. The same filter in SPARQL reads
        every label in the store (0.4 s at 100k articles); a Python test per name took 3.5 ms
        over the 30k actor names there."""
        found = self._by_class.get(cls or "")
        if found is None:
            names = sorted((n, e) for n, es in self.spelled.items() for e in es
                           if cls is None or cls in self.types.get(e, ()))
            starts, at = [], 0
            for n, _e in names:
                starts.append(at)
                at += len(n) + 1
            found = ("\0".join(n for n, _e in names), starts, [e for _n, e in names], names)
            self._by_class[cls or ""] = found
        joined, starts, owners, names = found
        needle = text.lower()
        if not names:
            return []
        if "\0" in needle:  # the separator: tested name by name
            return sorted({e for n, e in names if needle in n})
        hits, at = set(), joined.find(needle)
        while at >= 0:
            i = bisect.bisect_right(starts, at) - 1
            hits.add(owners[i])
            # on from the next name: a second hit in this one adds nothing
            at = joined.find(needle, starts[i + 1]) if i + 1 < len(starts) else -1
        return sorted(hits)


def _read_names(store: Store) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """Every (node, label or alias) pair in ``store``, and the classes of each such node.

    Types are read per labelled node with index lookups: joining them in the same SPARQL query
    (an OPTIONAL over every graph) took 12 s on 1,000 articles instead of 0.1 s.
    """
    rows, nodes = [], {}
    for row in store.raw.query(_LABELS):
        node = row["e"]
        nodes[node.value] = node
        rows.append((node.value, row["name"].value))
    types = {}
    for e, node in nodes.items():
        if isinstance(node, ox.NamedNode):
            found = sorted({q.object.value
                            for q in store.raw.quads_for_pattern(node, _RDF_TYPE, None, None)})
            if found:
                types[e] = found
    return rows, types


# Keyed weakly on the store (an id can be reused by a later store); rebuilt when its version moves.
_INDEXES: "weakref.WeakKeyDictionary[Store, tuple[int, _NameIndex]]" = weakref.WeakKeyDictionary()
# Bumped when what the file holds changes, or how names are keyed (kg.entities.name_key): a
# file of another format is not read. 2: each name's key is kept with it.
_INDEX_FORMAT = 2
_INDEX_KIND = "name-index"


def _index_file(store: Store) -> Path | None:
    """Where the name index of an on-disk store opened read-only is kept (beside the store)."""
    return kept_beside(store, _INDEX_KIND)


def _saved_index(store: Store) -> _NameIndex | None:
    """The index kept beside ``store`` if it was made from the store as it is now, else ``None``
    (missing, unreadable, malformed or stale: the caller reads the store again)."""
    data = read_kept(store, _INDEX_KIND, _INDEX_FORMAT)
    if data is None:
        return None
    try:
        rows = [(e, name) for e, name in data["rows"]]
        keys, types = data["keys"], data["types"]
        if not all(isinstance(x, str) for row in rows for x in row) or not all(
                isinstance(e, str) and isinstance(t, list) and all(isinstance(c, str) for c in t)
                for e, t in types.items()) or not all(isinstance(k, str) for k in keys):
            return None
        return _NameIndex(rows, types, keys)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _index(store: Store) -> _NameIndex:
    """The name index of ``store``, made once per process and store version. A store opened
    read-only keeps it in a file beside it, keyed on the digest of its files
    (:attr:`kg.store.Store.stamp`): at 100k articles, reading the store for it took 7.5 s of
    every ``kg query``."""
    return _index_made(store)[0]


@paused_gc()  # 100k articles: the index read from its file in 0.42 s, 0.30 s paused
def _index_made(store: Store) -> tuple[_NameIndex, bool]:
    """:func:`_index`, and whether it was made from the store (rather than found)."""
    cached = _INDEXES.get(store)
    if cached is not None and cached[0] == store.version:
        return cached[1], False
    index = _saved_index(store)
    made = index is None
    if made:
        rows, types = _read_names(store)
        index = _NameIndex(rows, types)
        keep_beside(store, _INDEX_KIND, _INDEX_FORMAT,
                    {"rows": rows, "keys": index.row_keys, "types": types})
    _INDEXES[store] = (store.version, index)
    return index, made


def warm_names(store: Store) -> float | None:
    """Read every label and alias of ``store`` into its name index and keep the index beside
    it, as the first name looked up in a process would (at 100k articles 6.6 s from the store;
    a later process reads the file kept in 0.4 s). So that the first question about a name
    after a build or ``kg add`` does not pay for it, ``kg build``, ``kg warm`` and ``kg serve``
    do it beside :func:`warm` (:func:`warm_store`).

    Returns the seconds it took, or ``None`` when the index kept beside the store was already
    of the store as it is (then read, so that this process has it too).

    Raises
    ------
    QueryError
        ``store`` is in memory or open for writing: the index cannot be kept beside it.
    """
    if _index_file(store) is None:
        raise QueryError("the name index cannot be kept beside this store: it is in memory or "
                         "open for writing", file=str(store.path) if store.path else None)
    started = time.perf_counter()
    _found, made = _index_made(store)
    return time.perf_counter() - started if made else None


def share_index(source: Store, target: Store) -> None:
    """Let ``target``, the same store opened again (equal :attr:`kg.store.Store.stamp`), use the
    name index this process made for ``source`` instead of reading it again (0.7 s at 100k
    articles)."""
    cached = _INDEXES.get(source)
    if cached is not None and source.stamp is not None and source.stamp == target.stamp:
        _INDEXES[target] = (target.version, cached[1])


def describe(store: Store, iri: str) -> tuple[str | None, set[str]]:
    """The label and the ``rdf:type`` IRIs the store gives ``iri`` (from the cached name index)."""
    index = _index(store)
    return index.labels.get(str(iri)), set(index.types.get(str(iri), ()))


def _expand(curie: str) -> str:
    prefix, _, local = curie.partition(":")
    return NAMESPACES[prefix] + local


def resolve_name(store: Store, name: str, kind: str = "entity", *, item=None) -> ox.NamedNode:
    """The IRI a name (label, alias, key or full IRI) stands for, among things of ``kind``.

    Raises
    ------
    UnknownEntity
        Nothing of that kind has the name; near names are listed.
    AmbiguousEntity
        Several things have it; all are listed.
    """
    index = _index(store)
    if name.startswith(("http://", "https://")):
        if name in index.types or name in index.labels:
            return ox.NamedNode(name)
        raise UnknownEntity(f"no node {name} in the graph", item=item)
    cls = PARAM_KINDS.get(kind)
    wanted = None if cls in (None, "IRI") else _expand(cls)
    found = sorted(e for e in index.names.get(index.key(name), ())
                   if wanted is None or wanted in index.types.get(e, ()))
    if len(found) == 1:
        return ox.NamedNode(found[0])
    if found:
        listing = ", ".join(f"{index.labels.get(e, e)} <{e}>" for e in found)
        raise AmbiguousEntity(f"'{name}' could be any of: {listing}", candidates=found,
                              item=item)
    needle = index.key(name)
    near = sorted({e for n, es in index.names.items() if len(n) > 2 and (needle in n or n in needle)
                   for e in es if wanted is None or wanted in index.types.get(e, ())})[:8]
    hint = ("; candidates: " + ", ".join(f"{index.labels.get(e, e)} <{e}>" for e in near)
            if near else "")
    raise UnknownEntity(f"no {kind} is called '{name}'{hint}", candidates=near, item=item)


def _bind(store: Store, query: NamedQuery, values: dict[str, str]) -> dict:
    declared = {p.name: p for p in query.params}
    unknown = set(values) - set(declared)
    if unknown:
        raise ParameterError(f"unknown parameter(s) {', '.join(sorted(unknown))}; "
                             f"{query.name} takes {', '.join(declared) or 'none'}",
                             item=query.name)
    out = {}
    for param in query.params:
        raw = values.get(param.name)
        if raw is None or raw == "":
            if not param.optional:
                raise ParameterError(f"missing parameter '{param.name}' ({param.kind}): "
                                     f"{param.description}", item=query.name)
            continue
        item = f"{query.name} {param.name}"
        if param.kind in ("date",):
            try:
                dt.date.fromisoformat(raw)
            except ValueError:
                raise ParameterError(f"'{param.name}' must be a date YYYY-MM-DD, not {raw!r}",
                                     item=query.name) from None
            term = ox.Literal(raw, datatype=ox.NamedNode(_expand("xsd:date")))
        elif param.kind == "int":
            if not re.fullmatch(r"-?\d+", raw):
                raise ParameterError(f"'{param.name}' must be a whole number", item=query.name)
            term = ox.Literal(raw, datatype=ox.NamedNode(_expand("xsd:integer")))
        elif param.kind == "text":
            term = ox.Literal(raw)
        elif param.kind == "actors":
            # every match, as one VALUES row each; none matching gives no rows
            term = tuple(ox.NamedNode(e) for e in
                         _index(store).containing(raw, _expand(PARAM_KINDS[param.kind])))
        elif param.kind in _ENUM_TERMS:
            local = _ENUM_TERMS[param.kind].get(raw.lower())
            if local is None:
                raise ParameterError(f"'{param.name}' must be one of "
                                     f"{', '.join(_ENUM_TERMS[param.kind])}", item=query.name)
            term = ox.NamedNode(_expand("kg:" + local))
        elif param.kind == "iri":
            if not re.fullmatch(r"https?://[^\s<>\"{}|\\^`]+", raw):
                raise ParameterError(f"'{param.name}' must be an http(s) IRI", item=query.name)
            term = ox.NamedNode(raw)
        else:
            term = resolve_name(store, raw, param.kind, item=item)
        out[ox.Variable(param.name)] = term
    return out


def _execute(store: Store, text: str, substitutions=None, limit: int | None = None,
             skip: int = 0):
    with engine_errors():  # rows are computed as they are read: errors come while reading too
        return _read(store.raw.query(text, substitutions=substitutions or None), limit, skip)


@paused_gc()  # 100k articles, every actor (24k rows): 4.5 s with collection running, 2.8 paused
def _read(result, limit: int | None, skip: int = 0) -> QueryResult:
    """The first ``limit`` rows of ``result`` after ``skip`` ones; ``truncated`` if more follow."""
    if isinstance(result, ox.QueryBoolean):
        return QueryResult(vars=[], boolean=bool(result))
    if isinstance(result, ox.QueryTriples):
        names = ["subject", "predicate", "object"]
        rows = (dict(zip(names, (t.subject, t.predicate, t.object))) for t in result)
    else:
        names = [v.value for v in result.variables]
        rows = ({n: solution[n] for n in names} for solution in result)
    out, truncated = [], False
    for row in itertools.islice(rows, skip, None):
        if limit is not None and len(out) >= limit:
            truncated = True
            break
        out.append({n: from_ox(row[n]) for n in names})
    return QueryResult(vars=names, rows=out, truncated=truncated)


# --- binding parameters as VALUES -------------------------------------------------------------

_LEXER = re.compile(r"""
    (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z0-9_\u00B7\u00C0-\uFFFF]+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*(?::[A-Za-z0-9_\-.]*)?)
  | (?P<space>\s+)
  | (?P<punct>.)
""", re.X | re.S)


def _tokens(text: str):
    """SPARQL text as (kind, token) pairs; concatenated, the tokens give back the text."""
    for m in _LEXER.finditer(text):
        yield m.lastgroup, m.group()


def _where_braces(tokens: list[tuple[str, str]]) -> list[tuple[int, int]]:
    """(index of the opening brace, index of the closing brace) of the WHERE group of the
    query and of every sub-SELECT, outermost first."""
    out = []
    stack: list[tuple[int, int]] = []      # (index of '{', index in out or -1)
    pending = None                         # a query form seen, its WHERE brace not yet
    template = False                       # CONSTRUCT { template } comes before WHERE
    parens = 0
    for i, (kind, tok) in enumerate(tokens):
        if kind == "word":
            up = tok.upper()
            if up in ("SELECT", "ASK", "DESCRIBE", "CONSTRUCT"):
                pending = (up, parens)
                template = up == "CONSTRUCT"
            elif up == "WHERE" and pending is not None:
                template = False
        elif kind == "punct":
            if tok == "(":
                parens += 1
            elif tok == ")":
                parens -= 1
            elif tok == "{":
                slot = -1
                if pending is not None and parens == pending[1]:
                    if template:
                        template = False       # the CONSTRUCT template: not a WHERE group
                    else:
                        out.append((i, -1))
                        slot = len(out) - 1
                        pending = None
                stack.append((i, slot))
            elif tok == "}":
                if stack:
                    _, slot = stack.pop()
                    if slot >= 0:
                        out[slot] = (out[slot][0], i)
    return out


def _lateral_groups(tokens, path=None, name=None) -> list[tuple[int, int, int]]:
    """(index of LATERAL, of its opening brace, of its closing brace) for every LATERAL."""
    groups = []
    for i, (kind, tok) in enumerate(tokens):
        if kind != "word" or tok.upper() != "LATERAL":
            continue
        j = i + 1
        while j < len(tokens) and tokens[j][0] in ("space", "comment"):
            j += 1
        if j == len(tokens) or tokens[j][1] != "{":
            raise QueryError("LATERAL is not followed by a group { ... }", file=path, item=name)
        depth = 0
        for k in range(j, len(tokens)):
            if tokens[k][0] == "punct" and tokens[k][1] in "{}":
                depth += 1 if tokens[k][1] == "{" else -1
                if depth == 0:
                    break
        else:
            raise QueryError("a LATERAL group is not closed", file=path, item=name)
        groups.append((i, j, k))
    return groups


def without_lateral(text: str, *, path=None, name=None) -> str:
    """``text`` with every ``LATERAL { body }`` written ``. body .``: the group spliced into the
    group that holds it, for an engine without ``LATERAL`` (SEP-0006, in SPARQL 1.2 drafts);
    ``LATERAL { SELECT ... }`` becomes ``. { SELECT ... }``.

    ``LATERAL`` tells Oxigraph to evaluate the group once per row of what precedes it, with the
    row's values in place (an index lookup per row), where it would otherwise evaluate a
    subquery, a ``UNION`` of joins or a many-pattern ``OPTIONAL`` on its own and hash-join the
    result: a scan of the store. Spliced, the group means the same as long as it only joins
    with what precedes it, which the named queries keep to (``docs/queries.md``);
    ``tests/test_remote.py`` checks that Virtuoso, given the spliced text, agrees. The dots
    keep triples on either side apart; one is left out where the grammar allows none (after
    ``{`` or another dot).

    >>> without_lateral("SELECT * { ?a ?b ?c LATERAL { OPTIONAL { ?c ?d ?e } } }")
    'SELECT * { ?a ?b ?c .  OPTIONAL { ?c ?d ?e } . }'

    Raises
    ------
    QueryError
        A ``LATERAL`` not followed by a group, or a group left open.
    """
    tokens = list(_tokens(text))
    marks = set()
    for i, j, k in _lateral_groups(tokens, path, name):
        first = next((t for kind, t in tokens[j + 1:k] if kind not in ("space", "comment")), "")
        # a subquery keeps its braces: { SELECT ... } joined is what LATERAL { SELECT ... } is
        marks.update((i,) if first.upper() == "SELECT" else (i, j, k))
    out, last = [], ""                         # last: the last token written, not space
    for i, (kind, tok) in enumerate(tokens):
        if i in marks:
            tok = "" if last in ("{", ".", "") else "."
        if tok and kind not in ("space", "comment"):
            last = tok
        out.append(tok)
    return "".join(out)


def _value_text(name: str, term) -> str:
    """``term`` in N-Triples form (escaped, never raw text), for a ``VALUES`` block."""
    if not isinstance(term, (ox.NamedNode, ox.Literal)):
        term = to_ox(term)
        if not isinstance(term, (ox.NamedNode, ox.Literal)):
            raise QueryError(f"cannot bind {name} to {term!r}")
    return str(term)


def bind_values(text: str, bindings: dict) -> str:
    """``text`` with ``$name`` written ``?name`` and each binding (variable name or
    ``pyoxigraph.Variable`` -> pyoxigraph term, or a tuple of terms: one row each) as a
    ``VALUES`` block opening the WHERE group of the query and of every sub-SELECT that mentions
    the variable, unless the sub-SELECT is inside a ``LATERAL`` group: that one sees the values
    of its row already, and Oxigraph refuses a ``LATERAL`` group that binds a variable its row
    binds.

    >>> print(bind_values("SELECT * { ?s ?p $o }", {"o": (ox.Literal("a"), ox.Literal("b"))}))
    SELECT * { VALUES (?o) { ("a") ("b") }
     ?s ?p ?o }
    """
    values: dict[str, list[str]] = {}
    for var, term in bindings.items():
        name = var.value if isinstance(var, ox.Variable) else str(var).lstrip("?$")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise QueryError(f"bad variable name {name!r}")
        terms = term if isinstance(term, (tuple, list)) else (term,)
        values[name] = [_value_text(name, t) for t in terms]
    if not values:
        return "".join(_binding_plan(text, groups=False)[0])
    texts, groups = _binding_plan(text)
    if groups is None:
        raise QueryError("cannot find the query's WHERE group to bind parameters in")
    inserts: dict[int, str] = {}
    for open_i, mentioned in groups:
        used = set(values) if mentioned is None else mentioned & set(values)
        if used:
            names = sorted(used)
            rows = itertools.product(*(values[v] for v in names))
            inserts[open_i] = (" VALUES (" + " ".join("?" + v for v in names) + ") { "
                               + " ".join("(" + " ".join(r) + ")" for r in rows) + " }\n")
    return "".join(t + inserts.get(i, "") for i, t in enumerate(texts))


@lru_cache(maxsize=512)
def _binding_plan(text: str, groups: bool = True):
    """What :func:`bind_values` needs of a query text, worked out once per text (tokenizing took
    0.3-0.8 ms, a fifth of some questions): its tokens with ``$name`` written ``?name``, and
    ``None`` if it has no WHERE group, else (index of the opening brace, the variables the
    group mentions or ``None`` for the outermost group, which binds every parameter) for each
    WHERE group that may take a ``VALUES`` block: not one inside ``LATERAL``, which sees the
    values of its row already (Oxigraph refuses a ``LATERAL`` group that rebinds them).
    With ``groups=False``, only the tokens."""
    tokens = [(k, ("?" + t[1:]) if k == "var" and t.startswith("$") else t)
              for k, t in _tokens(text)]
    texts = tuple(t for _, t in tokens)
    if not groups:
        return texts, None
    found = _where_braces(tokens)
    if not found:
        return texts, None
    lateral = [(j, k) for _, j, k in _lateral_groups(tokens)]
    plan = []
    for n, (open_i, close_i) in enumerate(found):
        if any(j < open_i < k for j, k in lateral):
            continue
        if n == 0:
            plan.append((open_i, None))
        else:
            body = tokens[open_i:close_i if close_i >= 0 else len(tokens)]
            plan.append((open_i, frozenset(t[1:] for k, t in body if k == "var")))
    return texts, tuple(plan)



def run_named(store: Store, name: str, params: dict[str, str] | None = None, *,
              limit: int | None = None, offset: int = 0, plan: bool = True,
              keep: bool = True) -> QueryResult:
    """Run the named query ``name`` with ``params`` (strings, resolved by each one's kind).

    ``limit`` and ``offset`` ask for a page of the answer: its rows ``offset`` to
    ``offset + limit``, in the query's order (``truncated`` when more follow). The page is cut
    by the query itself, with its page plan if it has one (:meth:`NamedQuery.sparql_for`), so
    a first page need not compute the whole answer. ``plan=False`` cuts it without the plan:
    for a bound on the rows rather than a page, which often reaches past the answer's end,
    where a plan gives a page too short to be sure of and the page is asked again without it.

    On a store opened read-only, an answer that took a while is kept beside it, whole or its
    first rows, and a question asked again (in any process, until the store changes) is read
    back from it (:mod:`kg.kept_answers`); ``keep=False`` asks the store every time.

    Raises
    ------
    QueryError
        Unknown query; :class:`ParameterError` for a missing, unknown or malformed parameter,
        or a bad page; :class:`UnknownEntity`/:class:`AmbiguousEntity` for a name that is not
        exactly one thing.
    """
    query = named_query(name)
    page = Page(limit, offset) if limit is not None or offset else None
    kept = KeptAnswers.beside(store) if keep else None
    if kept is not None:
        key = kept.key(query.text, params)
        found = kept.get(key, offset, limit)
        if found is not None:
            return QueryResult(vars=found[0], rows=found[1], truncated=found[2])
    bindings = _bind(store, query, params or {})
    started = time.perf_counter()
    result = _answer(store, query, bindings, page, plan)
    if kept is not None and offset == 0 and result.boolean is None and \
            time.perf_counter() - started >= kept.keep_after():
        kept.put(key, name, result.vars, result.rows, complete=not result.truncated)
    return result


def _answer(store: Store, query: NamedQuery, bindings: dict, page: "Page | None",
            plan: bool) -> QueryResult:
    """The rows of ``page`` of ``query``'s answer for ``bindings``, asked of the store."""
    text = query.bound(bindings, page=page, plan=plan)
    limit, offset = (page.limit, page.offset) if page is not None else (None, 0)
    if page is not None and query.cuts_itself:  # not cut by us: cut as the rows are read
        return _execute(store, text, None, limit, offset)
    result = _execute(store, text, None, limit)
    if page is not None and plan and not result.truncated:
        # a page plan found fewer rows than the page and the one after: the answer ends here,
        # or the plan's prefix was too short; without the plan, the page is the query's own
        plain = query.bound(bindings, page=page, plan=False)
        if plain != text:
            result = _execute(store, plain, None, limit)
    return result


#: Rows of each listing :func:`warm` keeps: a first page, as `kg serve`'s query page suggests.
WARM_ROWS = 20


@dataclass
class Warmed:
    """What :func:`warm` did with one listing: its first ``rows`` rows were made in ``seconds``
    (``made``), or found kept already; ``kept`` says whether they are kept beside the store now
    (an answer quicker than :data:`kg.kept_answers.KEEP_AFTER` is not: it is made again as
    fast as it is read back)."""

    name: str
    seconds: float
    rows: int
    kept: bool
    made: bool = True


def listings() -> list[str]:
    """The names of the named questions that can be asked without any parameter: listings of
    the whole graph, such as every pair of actors who met.

    Examples
    --------
    >>> "met" in listings(), "meetings" in listings()  # meetings needs its actor
    (True, False)
    """
    return sorted(q.name for q in load_queries().values()
                  if not q.name.startswith("view_") and all(p.optional for p in q.params))


def warm(store: Store, names: list[str] | None = None, *, rows: int = WARM_ROWS
         ) -> list[Warmed]:
    """Make the first ``rows`` rows of each listing in ``names`` (default: every one of
    :func:`listings`) and keep them beside ``store``, so that the first page is read back
    when first asked, by `kg query NAME --limit ROWS` or `kg serve`, in this process or a
    later one.

    A listing's first page sorts every row the listing has (at 100k articles, 0.04-6 s each;
    read back, under 1 ms). Kept answers are of the store as it is: ``kg add`` and ``kg remove``
    change it, and nothing kept before is read back after. The listings are asked side by side
    (:func:`side_by_side`) and kept one after the other.

    Raises
    ------
    QueryError
        Answers cannot be kept beside ``store``: it is in memory or open for writing, or keeping
        is turned off (``KG_KEEP_ANSWERS=off``); or a name is not a listing.
    ParameterError
        ``rows`` is not a whole number from 1.
    """
    Page(rows)  # checked before anything is asked
    kept = KeptAnswers.beside(store)
    if kept is None:
        raise QueryError("answers cannot be kept beside this store: it is in memory or open for "
                         "writing, or keeping is turned off (KG_KEEP_ANSWERS=off)",
                         file=str(store.path) if store.path else None)
    known = listings()
    names = known if names is None else list(names)
    for name in names:
        if name not in known:
            raise QueryError(f"not a listing (a named question asked without parameters); "
                             f"the listings are {', '.join(known)}", item=name)

    done, todo = {}, []
    # the key of the question asked with no parameter, as run_named keeps it
    keys = {name: kept.key(named_query(name).text, None) for name in names}
    for name in keys:
        found = kept.get(keys[name], 0, rows)
        if found is None:
            todo.append(name)
        else:
            done[name] = Warmed(name, 0.0, len(found[1]), True, made=False)

    def ask(name):
        query = named_query(name)
        started = time.perf_counter()
        result = _answer(store, query, {}, Page(rows), True)
        return query, result, time.perf_counter() - started

    # kept as run_named keeps an answer: only one that took KEEP_AFTER or more
    for query, result, took in side_by_side(ask, todo):
        keep = took >= kept.keep_after() and kept.put(
            keys[query.name], query.name, result.vars, result.rows,
            complete=not result.truncated)
        done[query.name] = Warmed(query.name, took, len(result.rows), bool(keep))
    return [done[name] for name in keys]


def warm_store(store: Store, names: list[str] | None = None, *, rows: int = WARM_ROWS
               ) -> tuple[list[Warmed], float | None]:
    """:func:`warm` and :func:`warm_names` side by side, as ``kg build``, ``kg warm`` and
    ``kg serve`` do: the listings on this thread (and those :func:`warm` asks on), the name
    index on another. Returns what :func:`warm` returns and what :func:`warm_names` returns.

    Raises
    ------
    QueryError, ParameterError
        As :func:`warm` and :func:`warm_names` do; an error of :func:`warm` once the name
        index is made.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        index = pool.submit(warm_names, store)
        try:
            done = warm(store, names, rows=rows)
        finally:
            took = index.result()
    return done, took


def run_named_text(store: Store, name: str, params: dict[str, str] | None = None
                   ) -> list[dict[str, str | None]]:
    """The rows of the named query ``name`` as text: each value is an IRI, a blank node's id or
    a literal's lexical form as stored (``None`` when unbound).

    For bulk reads by code (the network views), where making an rdflib term of every value costs
    more than the query: ``view_dates`` at 10k articles, 14k rows, took 3.5 s with terms and
    1.9 s as text.

    Raises
    ------
    QueryError
        As :func:`run_named`.
    """
    query = named_query(name)
    text = query.bound(_bind(store, query, params or {}))
    with engine_errors(name):
        result = store.raw.query(text)
        names = [v.value for v in result.variables]
        return [{n: (None if (t := row[n]) is None else t.value) for n in names}
                for row in result]


class _HeldGraphs:
    """``iri in held`` asks the store, instead of listing every named graph it holds."""

    def __init__(self, store: Store):
        self.store = store

    def __contains__(self, iri) -> bool:
        from rdflib import URIRef

        return self.store.has_graph(URIRef(str(iri)))


def run_sparql(store: Store, text: str, *, limit: int | None = None) -> QueryResult:
    """Run a SPARQL query given as text (the project's prefixes are predeclared)."""
    from .safety import check_query

    check_query(text, graphs=_HeldGraphs(store))
    if not re.search(r"^\s*PREFIX\s", text, re.I | re.M):
        text = PREFIXES + text
    return _execute(store, text, None, limit)


# --- evidence -----------------------------------------------------------------------------------

_EVIDENCE = PREFIXES + """
SELECT $claim ?article ?outlet ?published ?quote ?start ?end WHERE {
  GRAPH $claim { $claim prov:wasDerivedFrom ?article ; oa:hasTarget ?t .
                 ?t oa:hasSelector ?q, ?p . ?q oa:exact ?quote . ?p oa:start ?start ; oa:end ?end }
  GRAPH ?ag { ?article schema:publisher ?outlet ; schema:datePublished ?published }
}"""
_OUTLET_NAME = PREFIXES + """
SELECT $outlet ?name WHERE { GRAPH ?g { $outlet rdfs:label ?name } } LIMIT 1"""
# Claims asked about per query: one query per claim spent most of its time being parsed and
# planned (10k articles: 0.63 ms a claim, 0.26 ms in batches of 250, the same from 50 to 3000;
# 0.11 ms with the batches side by side).
_EVIDENCE_BATCH = 250


def side_by_side(fn, items) -> list:
    """``[fn(item) for item in items]``, the calls on up to four threads: pyoxigraph evaluates a
    query partly outside the GIL, so independent queries overlap (on two cores, the network
    views' first fetch at 10k articles 3.4 to 1.9 s; evidence 0.26 to 0.11 ms a claim)."""
    items = list(items)
    if len(items) < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        return list(pool.map(fn, items))


def evidence(store: Store, claims) -> dict[str, dict]:
    """For each claim IRI: article, outlet, publication date, verbatim quote and offsets.

    Raises
    ------
    QueryError
        A claim that is not an IRI.
    """
    wanted = sorted({str(c) for c in claims if c})
    try:
        batches = [tuple(ox.NamedNode(c) for c in wanted[i:i + _EVIDENCE_BATCH])
                   for i in range(0, len(wanted), _EVIDENCE_BATCH)]
    except ValueError as exc:
        raise QueryError(f"evidence: not a claim IRI: {exc}") from None

    def rows(batch):
        return [(r["claim"].value, r["article"].value, r["outlet"], r["published"].value,
                 r["quote"].value, int(r["start"].value), int(r["end"].value))
                for r in store.raw.query(bind_values(_EVIDENCE, {"claim": batch}))]

    found = [row for part in side_by_side(rows, batches) for row in part]
    out: dict[str, dict] = {}
    outlet_names: dict[str, str] = {}
    for claim, article, outlet_node, published, quote, start, end in found:
        outlet = outlet_node.value
        if outlet not in outlet_names:
            named = store.raw.query(_OUTLET_NAME, substitutions={ox.Variable("outlet"):
                                                                 outlet_node})
            outlet_names[outlet] = next((r["name"].value for r in named), outlet)
        out[claim] = {"article": article, "outlet": outlet_names[outlet],
                      "published": published, "quote": quote, "start": start, "end": end}
    return out


def claims_of(row: dict) -> list[str]:
    """The claim IRIs a result row cites (``?claim`` or space-separated ``?claims``)."""
    found = []
    for name in ("claim", "claims"):
        value = row.get(name)
        if value is not None:
            found.extend(str(value).split())
    return [c for c in found if c.startswith(str(iris.ID["claim/"]))]
