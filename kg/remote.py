"""Stage 6: a remote SPARQL 1.1 store. Push the graph to it, and ask it the named questions.

:class:`RemoteStore` speaks the plain SPARQL 1.1 Protocol (query and update) and the Graph Store
HTTP Protocol over HTTP with the standard library only. Results come back as the query layer's
:class:`~kg.query.QueryResult` of rdflib terms, read from SPARQL Results JSON the way the embedded
store reads its own: a literal typed ``xsd:string`` becomes a plain literal.

:func:`push` replaces named graphs on the remote by the local ones: the whole graph, or the graphs
of one article. With a Graph Store URL each graph is one ``PUT`` (atomic per graph); otherwise
``DROP SILENT GRAPH`` + ``INSERT DATA`` updates are sent in batches. Terms are written in their
N-Triples form as Oxigraph prints it, which is correctly escaped for both N-Triples and SPARQL.

:func:`run_named_remote` runs a named query (``kg/queries/*.rq``) on the remote. An endpoint takes
no pre-bound variables, so each parameter is resolved and checked exactly as for the embedded
store (names to IRIs through the local store, or through the remote's labels), and the resulting
RDF term is written as a ``VALUES`` block at the start of the query's WHERE group (and of every
sub-SELECT that uses it): a value is always a serialized term, never text pasted into the query.
``$name`` parameters are rewritten ``?name`` (the same variable in SPARQL, but not every server
takes the ``$`` form alike).

Virtuoso 7.2 (measured in ``tests/test_remote.py``). Evened out here: it answers ``xsd:boolean``
as ``"1"``/``"0"`` (read back as ``true``/``false``); it keeps a literal typed ``xsd:string`` apart
from the plain one (only plain ones are sent); it lower-cases language tags (so does Oxigraph);
large update requests are slow and an ``INSERT DATA`` of a few thousand triples is refused (hence
small batches); listing graphs with ``SELECT DISTINCT ?g`` is 100x slower than grouping. Left to
the caller: updates need ``/sparql-auth`` (digest authentication) or the SPARQL_UPDATE grant;
results past ``ResultSetMaxRows`` (10000 by default) are cut off silently; ``EXISTS`` used as a
value comes back ``1``/``0`` typed ``xsd:integer``; a GROUP_CONCAT of nothing is ``""`` (Oxigraph:
unbound); and these constructs of a query differ from Oxigraph (which follows the standard):
``?x = ?unbound`` is false rather than an error (so ``COALESCE(?x = $p, true)`` drops every row
when ``$p`` is left out), ``CONCAT`` of an unbound value is a string rather than an error,
``COALESCE(... || EXISTS {...}, ...)`` fails to compile (SQ074), ``FILTER(... EXISTS ...)`` can
drop rows in a group that also holds a ``BIND``, and ``CONCAT`` of a stored non-ASCII string with
a non-ASCII constant garbles the stored one (UTF-8 read as Latin-1).
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF

from . import iris
from .derive import reports, version_error
from .errors import StoreError
from .nquads import text_of
from .query import (PREFIXES, NamedQuery, Page, QueryResult, _bind, _tokens, bind_values,
                    named_query)
from .store import Store, from_ox
from .terms import XSD_STRING as _XSD_STRING
from .vocab import ID, KG, PROV, SEM

__all__ = ["RemoteStore", "RemoteError", "PushReport", "push", "run_named_remote",
           "bind_values", "label_store", "remote_version", "check_remote_current"]

_XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_JSON_RESULTS = "application/sparql-results+json"
_RDF_ACCEPT = "application/n-triples, text/turtle;q=0.9"


class RemoteError(StoreError):
    """A remote store cannot be reached, refused a request, or answered something unreadable.

    ``url`` is the endpoint without credentials; ``status`` the HTTP status, when there was one.
    """

    def __init__(self, message, *, url=None, status=None, **kw):
        super().__init__(message, **kw)
        self.url = url
        self.status = status


def _public(url: str) -> str:
    """``url`` without user information (``user:password@``)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _term(value: dict):
    """One RDF term of SPARQL Results JSON as an rdflib term (xsd:string literals plain)."""
    kind = value.get("type")
    text = value.get("value", "")
    if kind == "uri":
        return URIRef(text)
    if kind == "bnode":
        return BNode(text)
    if kind in ("literal", "typed-literal"):
        lang = value.get("xml:lang")
        if lang:
            return Literal(text, lang=lang.lower())
        datatype = value.get("datatype")
        if datatype is None or datatype == _XSD_STRING:
            return Literal(text)
        if datatype == _XSD_BOOLEAN and text in ("1", "0"):       # Virtuoso
            text = "true" if text == "1" else "false"
        return Literal(text, datatype=URIRef(datatype))
    if kind == "triple":            # SPARQL-star; not used by this project
        raise ValueError("quoted triples are not supported")
    raise ValueError(f"unknown term type {kind!r}")


#: A page of a named question that ends at this row or later is cut by kg, not by the remote:
#: Virtuoso's default ``MaxSortedTopRows``, past which it refuses ``ORDER BY ... LIMIT``
#: (error SR353) although it sorts the whole answer.
MAX_SORTED_ROWS = 10_000


class RemoteStore:
    """A SPARQL 1.1 endpoint (and optionally its update and Graph Store endpoints).

    Parameters
    ----------
    query_url : str
        The SPARQL query endpoint.
    update_url : str, optional
        The SPARQL update endpoint; defaults to ``query_url``.
    gsp_url : str, optional
        A Graph Store HTTP Protocol endpoint (``?graph=IRI``); :func:`push` then ``PUT``s graphs.
    user, password : str, optional
        Credentials, for HTTP basic or digest authentication (whichever the server asks for).
        Credentials written into a URL (``http://user:pw@host/``) are taken from it. They never
        appear in messages.
    timeout : float
        Seconds to wait for each answer.
    """

    def __init__(self, query_url: str, update_url: str | None = None,
                 gsp_url: str | None = None, *, user: str | None = None,
                 password: str | None = None, timeout: float = 30):
        urls = []
        for url in (query_url, update_url or query_url, gsp_url):
            if url is None:
                urls.append(None)
                continue
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise RemoteError(f"not an http(s) endpoint URL: {_public(url)}", url=_public(url))
            if parts.username is not None and user is None:
                user = urllib.parse.unquote(parts.username)
                password = urllib.parse.unquote(parts.password or "")
            urls.append(_public(url))
        self.query_url, self.update_url, self.gsp_url = urls
        self.timeout = timeout
        self.user = user
        self._password = password
        handlers = []
        if user is not None:
            manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            for url in urls:
                if url is not None:
                    manager.add_password(None, url, user, password or "")
            handlers += [urllib.request.HTTPDigestAuthHandler(manager),
                         urllib.request.HTTPBasicAuthHandler(manager)]
        self._opener = urllib.request.build_opener(*handlers)
        #: Set once :func:`check_remote_current` passed: named questions then ask it no more
        #: (what this kg pushes keeps the remote current).
        self.checked_current = False

    def __repr__(self) -> str:
        return f"RemoteStore({self.query_url!r})"

    # --- HTTP -------------------------------------------------------------------------------
    def _send(self, method: str, url: str, body: bytes | None = None,
              headers: dict | None = None) -> tuple[int, str, bytes]:
        request = urllib.request.Request(url, data=body, method=method,
                                         headers={"User-Agent": "kg-remote/0.1",
                                                  **(headers or {})})
        shown = _public(url.split("?", 1)[0])
        try:
            with self._opener.open(request, timeout=self.timeout) as resp:
                return resp.status, resp.headers.get("Content-Type", ""), resp.read()
        except urllib.error.HTTPError as exc:
            try:
                detail = exc.read().decode("utf-8", "replace")
            except OSError:
                detail = ""
            # the server's message; Virtuoso then echoes the whole query, which is left out
            detail = " ".join(detail.split()).split(" SPARQL query:", 1)[0]
            if len(detail) > 300:
                detail = detail[:300] + "..."
            hint = " (credentials refused or missing)" if exc.code in (401, 403) else ""
            raise RemoteError(f"{method} {shown} failed: HTTP {exc.code} {exc.reason}{hint}"
                              + (f": {detail}" if detail else ""),
                              url=shown, status=exc.code) from None
        except (socket.timeout, TimeoutError):
            raise RemoteError(f"{method} {shown}: no answer within {self.timeout} s",
                              url=shown) from None
        except urllib.error.URLError as exc:
            raise RemoteError(f"{method} {shown}: cannot reach the server: {exc.reason}",
                              url=shown) from None
        except (OSError, ValueError) as exc:   # connection reset, bad header
            raise RemoteError(f"{method} {shown}: {exc}", url=shown) from None

    def _query(self, text: str, accept: str) -> tuple[str, bytes]:
        body = urllib.parse.urlencode({"query": text}).encode()
        _, ctype, data = self._send("POST", self.query_url, body, {
            "Content-Type": "application/x-www-form-urlencoded", "Accept": accept})
        return ctype, data

    # --- queries ----------------------------------------------------------------------------
    def select(self, text: str, *, limit: int | None = None) -> QueryResult:
        """Run a SELECT; rows of rdflib terms (``None`` for an unbound variable)."""
        _, data = self._query(text, _JSON_RESULTS)
        doc = self._json(data)
        if "boolean" in doc:
            return QueryResult(vars=[], boolean=bool(doc["boolean"]))
        names = list(doc.get("head", {}).get("vars", []))
        rows, truncated = [], False
        try:
            for i, binding in enumerate(doc.get("results", {}).get("bindings", [])):
                if limit is not None and i >= limit:
                    truncated = True
                    break
                rows.append({n: (_term(binding[n]) if n in binding else None) for n in names})
        except (ValueError, TypeError, AttributeError) as exc:
            raise RemoteError(f"{self.query_url} sent unreadable results: {exc}",
                              url=self.query_url) from None
        return QueryResult(vars=names, rows=rows, truncated=truncated)

    def ask(self, text: str) -> bool:
        """Run an ASK."""
        doc = self._json(self._query(text, _JSON_RESULTS)[1])
        if "boolean" not in doc:
            raise RemoteError(f"{self.query_url} answered an ASK without a boolean",
                              url=self.query_url)
        return bool(doc["boolean"])

    def construct(self, text: str) -> list[tuple]:
        """Run a CONSTRUCT (or DESCRIBE); the triples as rdflib-term tuples."""
        ctype, data = self._query(text, _RDF_ACCEPT)
        media = ctype.split(";")[0].strip().lower()
        fmt = (ox.RdfFormat.TURTLE if media in ("text/turtle", "application/x-turtle")
               else ox.RdfFormat.N_TRIPLES if media in ("application/n-triples", "text/plain",
                                                       "text/ntriples")
               else None)
        if fmt is None:
            raise RemoteError(f"{self.query_url} answered a CONSTRUCT as {media or 'nothing'}",
                              url=self.query_url)
        try:
            return [(from_ox(t.subject), from_ox(t.predicate), from_ox(t.object))
                    for t in ox.parse(data, format=fmt)]
        except SyntaxError as exc:
            raise RemoteError(f"{self.query_url} sent unreadable RDF: {exc}",
                              url=self.query_url) from None

    def query(self, text: str, *, limit: int | None = None) -> QueryResult:
        """Run any query form; a CONSTRUCT's triples come as subject/predicate/object rows."""
        form = _query_form(text)
        if form in ("CONSTRUCT", "DESCRIBE"):
            triples = self.construct(text)
            truncated = limit is not None and len(triples) > limit
            rows = [dict(zip(("subject", "predicate", "object"), t))
                    for t in (triples[:limit] if truncated else triples)]
            return QueryResult(vars=["subject", "predicate", "object"], rows=rows,
                               truncated=truncated)
        if form == "ASK":
            return QueryResult(vars=[], boolean=self.ask(text))
        return self.select(text, limit=limit)

    def _json(self, data: bytes) -> dict:
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RemoteError(f"{self.query_url} did not answer SPARQL results JSON: {exc}",
                              url=self.query_url) from None
        if not isinstance(doc, dict):
            raise RemoteError(f"{self.query_url} did not answer SPARQL results JSON",
                              url=self.query_url)
        return doc

    # --- updates ----------------------------------------------------------------------------
    def update(self, text: str) -> None:
        """Run a SPARQL Update request."""
        body = urllib.parse.urlencode({"update": text}).encode()
        self._send("POST", self.update_url, body,
                   {"Content-Type": "application/x-www-form-urlencoded"})

    def put_graph(self, graph: str, ntriples: bytes) -> None:
        """Replace one named graph by ``ntriples`` (Graph Store HTTP Protocol ``PUT``)."""
        if self.gsp_url is None:
            raise RemoteError("no Graph Store URL given", url=self.query_url)
        sep = "&" if "?" in self.gsp_url else "?"
        url = self.gsp_url + sep + urllib.parse.urlencode({"graph": str(graph)})
        self._send("PUT", url, ntriples, {"Content-Type": "application/n-triples"})

    # --- inspection -------------------------------------------------------------------------
    def count(self, graphs=None, *, prefix: str | None = None) -> int:
        """Triples in named graphs: all, those listed, or those whose IRI starts with ``prefix``."""
        if graphs is not None:
            graphs = [str(g) for g in graphs]
            if not graphs:
                return 0
            values = " ".join(str(ox.NamedNode(g)) for g in graphs)
            text = (f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} "
                    "GRAPH ?g { ?s ?p ?o } }")
        elif prefix is not None:
            text = ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                    f"FILTER(STRSTARTS(STR(?g), {ox.Literal(prefix)})) }}")
        else:
            text = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
        rows = self.select(text).rows
        return int(rows[0]["n"]) if rows and rows[0]["n"] is not None else 0

    def graph_sizes(self, prefix: str | None = None) -> dict[str, int]:
        """Triples per named graph (only graphs whose IRI starts with ``prefix``, if given)."""
        flt = f"FILTER(STRSTARTS(STR(?g), {ox.Literal(prefix)}))" if prefix else ""
        # grouped, not DISTINCT: Virtuoso answers this form from its index, 100x faster
        rows = self.select(f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {flt} }} "
                           "GROUP BY ?g").rows
        return {str(r["g"]): int(r["n"]) for r in rows if isinstance(r["g"], URIRef)}

    def graphs(self, prefix: str | None = None) -> set[str]:
        """The named graphs that hold triples (optionally only those starting with ``prefix``)."""
        return set(self.graph_sizes(prefix))


def _query_form(text: str) -> str:
    for kind, token in _tokens(text):
        if kind == "word" and token.upper() in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
            return token.upper()
    return "SELECT"


# --- push ---------------------------------------------------------------------------------------

@dataclass
class PushReport:
    """What :func:`push` sent: graphs replaced, triples written, stale graphs dropped."""

    graphs: int
    triples: int
    dropped: int = 0
    requests: int = 0
    facts: int = 0  # facts-graph quads sent again with one article's graphs (kg.derive)


def _ntriples(quads) -> list[str]:
    return [f"{q.subject} {q.predicate} {q.object} ." for q in quads]


def _remote_article_graphs(remote: RemoteStore, stem: str) -> set[str]:
    article = ox.NamedNode(str(iris.article(stem)))
    rows = remote.select(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?g "
                         f"{ox.NamedNode(str(PROV.wasDerivedFrom))} {article} }} }}").rows
    return {str(r["g"]) for r in rows if isinstance(r["g"], URIRef)}


_FACTS = ox.NamedNode(str(iris.FACTS_GRAPH))
_TYPE = ox.NamedNode(str(RDF.type))
_ACTOR = ox.NamedNode(str(SEM.Actor))


def remote_version(remote: RemoteStore) -> int | None:
    """The rules the remote's facts graph was counted by, as
    :func:`kg.derive.stored_version` tells for a local store: ``None`` when it holds no claim,
    1 for claims without a marker (pushed by a kg that wrote none). One or two small queries."""
    rows = remote.select(f"SELECT ?v WHERE {{ GRAPH {_FACTS} {{ {_FACTS} "
                         f"{ox.NamedNode(str(KG.factsVersion))} ?v }} }}").rows
    for row in rows:
        try:
            return int(str(row["v"]))
        except ValueError:
            return 0
    claimed = remote.ask(f"ASK {{ GRAPH ?g {{ ?c {_TYPE} {ox.NamedNode(str(KG.Claim))} }} }}")
    return 1 if claimed else None


def check_remote_current(remote: RemoteStore) -> None:
    """Refuse a remote whose derived facts an older (or newer) kg counted: its summaries would
    be missing or wrong, and an article pushed into it would mix two sets of rules.

    Raises
    ------
    StaleStore
        Naming the remote; a whole ``kg push`` by this kg replaces its facts.
    RemoteError
        The remote failed the request.
    """
    error = version_error(remote_version(remote), file=remote.query_url,
                          fix="push the whole graph again with this kg (`kg push` without "
                              "--article)")
    if error is not None:
        raise error


def _fact_nodes(store: Store, remote: RemoteStore, local: list[str], old: set[str]) -> set[str]:
    """The subjects in the facts graph (:mod:`kg.derive`) that replacing the graphs ``old`` on
    ``remote`` by the local graphs ``local`` may change: the fact nodes of the triples the
    remote's graphs assert (found there by value, so the remote's spelling of a literal does
    not matter) and of the local graphs' facts, and the actors either side mentions (their
    claim counts)."""
    raw = store.raw
    quads = [q for g in local for q in raw.quads_for_pattern(None, None, None, ox.NamedNode(g))]
    nodes = {str(iris.fact(*key)) for key in reports(text_of(quads))}
    mentioned = {q.object.value for q in quads if isinstance(q.object, ox.NamedNode)}
    if old:
        values = " ".join(str(ox.NamedNode(g)) for g in sorted(old))
        rows = remote.select(
            f"SELECT DISTINCT ?fact WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} "
            f"GRAPH {_FACTS} {{ ?fact {ox.NamedNode(str(RDF.subject))} ?s ; "
            f"{ox.NamedNode(str(RDF.predicate))} ?p ; {ox.NamedNode(str(RDF.object))} ?o }} }}").rows
        nodes |= {str(r["fact"]) for r in rows if isinstance(r["fact"], URIRef)}
        rows = remote.select(f"SELECT DISTINCT ?o WHERE {{ VALUES ?g {{ {values} }} "
                             f"GRAPH ?g {{ ?s ?p ?o }} FILTER(isIRI(?o)) }}").rows
        mentioned |= {str(r["o"]) for r in rows if isinstance(r["o"], URIRef)}
    nodes |= {iri for iri in mentioned
              if next(raw.quads_for_pattern(ox.NamedNode(iri), _TYPE, _ACTOR, None), None)
              is not None}
    return nodes


def _push_facts(store: Store, remote: RemoteStore, nodes: set[str], batch: int,
                report: "PushReport") -> None:
    """Replace what the facts graph says of ``nodes`` (fact nodes, actors) on ``remote`` by
    what it says locally (nothing, if it says nothing)."""
    raw, step = store.raw, max(1, batch)
    ordered = sorted(nodes)
    for i in range(0, len(ordered), step):
        chunk = [ox.NamedNode(n) for n in ordered[i:i + step]]
        ops = [f"DELETE WHERE {{ GRAPH {_FACTS} {{ {n} ?p ?o }} }}" for n in chunk]
        quads = [q for n in chunk for q in raw.quads_for_pattern(n, None, None, _FACTS)]
        if quads:
            ops.append(f"INSERT DATA {{ GRAPH {_FACTS} {{\n" + "\n".join(_ntriples(quads))
                       + "\n} }")
        remote.update(" ;\n".join(ops))
        report.requests += 1
        report.facts += len(quads)


def push(store: Store, remote: RemoteStore, *, article: str | None = None, batch: int = 250,
         prune: bool = True) -> PushReport:
    """Replace named graphs on ``remote`` by those of ``store``: all of them, or one article's.

    Parameters
    ----------
    article : str, optional
        The file stem of one article: only its graph and its claim graphs are replaced, and the
        fact nodes their triples have and the claim counts of the actors they mention
        (:mod:`kg.derive`), here or there, are sent again.
    batch : int
        Triples per SPARQL Update request, and per ``INSERT DATA`` (a graph holding blank nodes
        is never split). Small requests are faster on Virtuoso, whose update compiler slows down
        more than linearly with a request's size and refuses an ``INSERT DATA`` of a few
        thousand triples ("generated SQL text has exceeded 10000 lines"): 250 pushed the seed
        graph in about 1 s there, 5000 in about 6 s.
    prune : bool
        Also drop the remote's graphs that the local store no longer has: for an article, its
        claim graphs there; for the whole graph, every graph under the project's IRI base
        (``https://w3id.org/newskg/id/``). Graphs of other projects are never touched.

    Returns
    -------
    PushReport
        ``graphs`` replaced and ``triples`` sent (triples in the default graph are not sent);
        for an article, ``facts``: the quads of the fact nodes sent again.
    """
    raw = store.raw
    if article is not None:
        check_remote_current(remote)
        wanted = [str(g) for g in store.graphs_of_article(article)]
        local = [g for g in wanted if raw.contains_named_graph(ox.NamedNode(g))]
        stale = (_remote_article_graphs(remote, article) | {str(iris.article_graph(article))}
                 if prune else set()) - set(local)
        # and which rules counted them: an empty remote's first article brings the marker
        facts = _fact_nodes(store, remote, local, set(local) | stale) | {_FACTS.value}
    else:
        local = sorted(g.value for g in raw.named_graphs() if isinstance(g, ox.NamedNode))
        stale = (remote.graphs(prefix=str(ID)) if prune else set()) - set(local)
        facts = set()  # the facts graph is one of the graphs sent

    report = PushReport(graphs=0, triples=0)
    if remote.gsp_url is not None:
        for g in local:
            lines = _ntriples(raw.quads_for_pattern(None, None, None, ox.NamedNode(g)))
            remote.put_graph(g, ("\n".join(lines) + "\n").encode("utf-8") if lines else b"")
            report.graphs += 1
            report.triples += len(lines)
            report.requests += 1
        if stale:
            remote.update(" ;\n".join(f"DROP SILENT GRAPH {ox.NamedNode(g)}"
                                      for g in sorted(stale)))
            report.requests += 1
        report.dropped = len(stale)
        _push_facts(store, remote, facts, batch, report)
        return report

    # SPARQL Update: each graph is dropped and re-inserted; its triples go in INSERT DATA
    # operations of at most ``batch`` triples (a graph with blank nodes stays whole: their labels
    # are scoped to one operation), packed into requests of at most ``batch`` triples.
    ops: list[str] = [f"DROP SILENT GRAPH {ox.NamedNode(g)}" for g in sorted(stale)]
    size = 0
    step = max(1, batch)

    def flush():
        nonlocal ops, size
        if ops:
            remote.update(" ;\n".join(ops))
            report.requests += 1
        ops, size = [], 0

    for g in local:
        node = ox.NamedNode(g)
        quads = list(raw.quads_for_pattern(None, None, None, node))
        whole = any(isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)
                    for q in quads)
        chunks = [quads] if whole or not quads else [quads[i:i + step]
                                                    for i in range(0, len(quads), step)]
        for n, chunk in enumerate(chunks):
            if size and size + len(chunk) > batch:
                flush()
            if n == 0:
                ops.append(f"DROP SILENT GRAPH {node}")
            if chunk:
                ops.append(f"INSERT DATA {{ GRAPH {node} {{\n" + "\n".join(_ntriples(chunk))
                           + "\n} }")
            size += len(chunk)
        report.graphs += 1
        report.triples += len(quads)
    flush()
    report.dropped = len(stale)
    _push_facts(store, remote, facts, batch, report)
    return report


# --- named queries, remotely --------------------------------------------------------------------

_LABEL_GRAPH = ox.NamedNode(str(ID["graph/remote-labels"]))
_LABELS = PREFIXES + """
SELECT DISTINCT ?e ?p ?o WHERE {
  { GRAPH ?g { ?e rdfs:label ?o } BIND(rdfs:label AS ?p) }
  UNION { GRAPH ?g { ?e skos:altLabel ?o } BIND(skos:altLabel AS ?p) }
  UNION { GRAPH ?g { ?e a ?o } BIND(rdf:type AS ?p) }
  FILTER(STRSTARTS(STR(?g), "%s"))
}""" % ID


def label_store(remote: RemoteStore) -> Store:
    """An in-memory store of the remote's labels, aliases and types, to resolve names with."""
    store = Store()
    quads = []
    for row in remote.select(_LABELS).rows:
        if isinstance(row["e"], URIRef) and row["o"] is not None:
            quads.append((row["e"], row["p"], row["o"], URIRef(_LABEL_GRAPH.value)))
    store.add(quads)
    return store


def run_named_remote(remote: RemoteStore, name: str | NamedQuery,
                     params: dict[str, str] | None = None, *, local_store: Store | None = None,
                     limit: int | None = None, offset: int = 0) -> QueryResult:
    """Run the named query ``name`` on ``remote`` with ``params``, bound as on the local store.

    Parameters are checked and names resolved exactly as :func:`kg.query.run_named` does,
    against ``local_store`` (the graph that was pushed), or when it is ``None`` against the
    remote's own labels (one extra query). The bound terms go into the query as ``VALUES``.
    ``limit``/``offset``: a page of the answer, cut by the query (``LIMIT``/``OFFSET``) as
    locally, without the plans written for Oxigraph (``#+ if page``); a page ending at
    :data:`MAX_SORTED_ROWS` or later is cut from the whole answer as it is read.

    Raises
    ------
    QueryError
        Unknown query, or bad parameters (see :func:`kg.query.run_named`).
    RemoteError
        The remote failed the request.
    """
    query = name if isinstance(name, NamedQuery) else named_query(name)
    if not remote.checked_current:
        check_remote_current(remote)
        remote.checked_current = True
    resolver = local_store if local_store is not None else label_store(remote)
    bindings = _bind(resolver, query, params or {})
    page = Page(limit, offset) if limit is not None or offset else None
    if page is not None and (page.limit is None or page.last_row >= MAX_SORTED_ROWS
                             or query.cuts_itself):
        # cut as the rows are read, not by the remote: Virtuoso refuses to sort a page that
        # ends past its MaxSortedTopRows (10,000 by default), where the whole answer is fine
        skip, page = offset, None
    else:
        skip = 0
    # LATERAL is SPARQL 1.2: not for every store
    text = query.bound(bindings, lateral=False, page=page)
    try:
        result = remote.query(text, limit=None if limit is None else limit + skip)
        if skip:
            result.rows = result.rows[skip:]
        return result
    except RemoteError as exc:
        exc.item = exc.item or query.name
        raise
