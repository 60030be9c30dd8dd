"""A read-only SPARQL 1.1 Protocol endpoint over a built store (``kg serve``).

Routes
------
``GET /``
    A query page: a form for SPARQL, and every named query with its parameters.
``GET /sparql?query=…`` / ``POST /sparql``
    The SPARQL 1.1 Protocol query operation: ``query=`` in the URL, a form-encoded body, or an
    ``application/sparql-query`` body; ``default-graph-uri`` / ``named-graph-uri`` may name
    graphs of the store. Updates are refused (403).
``GET /queries``
    The named queries, as JSON.
``GET /query/<name>?param=value…[&limit=N&offset=M]``
    One named query with its parameters bound as RDF terms (never pasted into the text);
    ``limit``/``offset`` ask for a page of its rows (``limit`` at most the row cap), and a
    page that more rows follow carries ``Link: <…offset=…>; rel="next"``.

Results are negotiated by ``Accept`` (or ``format=``, a short name or a media type): SPARQL
Results JSON, XML, CSV and TSV for SELECT and ASK; Turtle, N-Triples, RDF/XML and JSON-LD for
CONSTRUCT and DESCRIBE. A result cut at the row limit carries ``X-Result-Truncated``.

Every query runs in a :class:`~kg.worker.QueryRunner` worker process, never in an HTTP thread: a
query past the time limit is killed (504), and the server keeps answering. Free queries go
through :func:`kg.safety.check_query` first (SERVICE, updates, LOAD, FROM outside the store are
refused with 400). Errors are JSON ``{"error": "…"}``; a traceback never reaches the client.
The workers follow the store: when ``kg add``, ``kg remove`` or a new ``kg build`` changed it,
they are replaced by ones that open it again (``follow_every``, one second by default). The
server also keeps every listing's first page made, as ``kg warm`` does (``warm``, on for
``kg serve``): at start, and after each change once the store has settled.

The server binds to 127.0.0.1 by default and, when bound to loopback, answers only requests whose
``Host`` names loopback (so a web page cannot reach it through DNS rebinding).
"""

from __future__ import annotations

import base64
import csv
import difflib
import hashlib
import html
import io
import ipaddress
import json
import re
import sys
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from .errors import (AmbiguousEntity, EntityError, KGError, QueryError, QueryTimeout,
                     StoreError, UnknownEntity, UnsafeQuery)
from .worker import QueryRunner, RawResult, WorkersBusy, decode_ox

__all__ = ["serve", "start_server", "make_server", "ServerHandle", "SparqlServer",
           "negotiate", "serialize", "MAX_BODY"]

#: Largest request body accepted (bytes); larger ones get 413.
MAX_BODY = 100_000
_MAX_FIELDS = 100

_XML_NS = "http://www.w3.org/2005/sparql-results#"

# format key -> (Content-Type sent, media types it answers)
_RESULT_TYPES = {
    "json": ("application/sparql-results+json",
             ("application/sparql-results+json", "application/json", "text/javascript",
              "application/javascript")),
    "xml": ("application/sparql-results+xml",
            ("application/sparql-results+xml", "application/xml", "text/xml")),
    "csv": ("text/csv", ("text/csv",)),
    "tsv": ("text/tab-separated-values", ("text/tab-separated-values",)),
}
_GRAPH_TYPES = {
    "turtle": ("text/turtle", ("text/turtle", "application/turtle", "application/x-turtle",
                               "text/n3", "text/rdf+n3", "application/n3")),
    "ntriples": ("application/n-triples", ("application/n-triples", "text/plain")),
    "rdfxml": ("application/rdf+xml", ("application/rdf+xml", "application/xml", "text/xml")),
    "jsonld": ("application/ld+json", ("application/ld+json", "application/json",
                                       "application/x-json+ld")),
}
# format= short names: the serialization they mean for a table (SELECT/ASK) or a graph
_FORMAT_NAMES = {
    "json": ("json", "jsonld"), "srj": ("json", None), "xml": ("xml", "rdfxml"),
    "srx": ("xml", None), "csv": ("csv", None), "tsv": ("tsv", None),
    "turtle": (None, "turtle"), "ttl": (None, "turtle"), "n3": (None, "turtle"),
    "nt": (None, "ntriples"), "ntriples": (None, "ntriples"), "n-triples": (None, "ntriples"),
    "rdfxml": (None, "rdfxml"), "rdf": (None, "rdfxml"), "rdf+xml": (None, "rdfxml"),
    "jsonld": (None, "jsonld"), "json-ld": (None, "jsonld"),
}


class NotAcceptable(QueryError):
    """No serialization the client accepts fits the result."""


# --- content negotiation ------------------------------------------------------------------------

def _parse_accept(header: str | None) -> list[tuple[str, float, int]]:
    ranges = []
    for index, part in enumerate((header or "").split(",")):
        bits = part.strip().split(";")
        media = bits[0].strip().lower()
        if not media:
            continue
        if media == "*":
            media = "*/*"
        q = 1.0
        for bit in bits[1:]:
            key, _, value = bit.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value.strip())))
                except ValueError:
                    q = 0.0
        ranges.append((media, q, index))
    return ranges


def _match(ranges, media: str):
    """(q, specificity, -index) of the most specific range matching ``media``, or None."""
    kind = media.split("/")[0]
    best = None
    for rng, q, index in ranges:
        if rng == media:
            spec = 2
        elif rng == f"{kind}/*":
            spec = 1
        elif rng == "*/*":
            spec = 0
        else:
            continue
        if best is None or spec > best[1]:
            best = (q, spec, -index)
    return best


def negotiate(kind: str, accept: str | None = None, fmt=None) -> tuple[str, str]:
    """The serialization for a result of ``kind`` ("select", "ask" or "triples").

    ``fmt`` (the ``format=`` parameter: a short name or a media type, or a list of them, the
    first that fits winning) overrides ``accept``. Returns ``(format key, Content-Type)``.

    Raises
    ------
    NotAcceptable
        Nothing the client accepts fits the result.
    QueryError
        An unknown ``format=`` value.

    >>> negotiate("select", "text/csv;q=0.5, application/sparql-results+xml")
    ('xml', 'application/sparql-results+xml')
    >>> negotiate("triples", None, "nt")
    ('ntriples', 'application/n-triples')
    >>> negotiate("select", "text/turtle", ["tsv", "text/tab-separated-values"])
    ('tsv', 'text/tab-separated-values')
    """
    formats = [fmt] if isinstance(fmt, str) else list(fmt or [])
    formats = [f.strip().lower() for f in formats if f and f.strip()]
    format_key_valid(formats)
    refusal = None
    for value in formats:
        try:
            return _negotiate_one(kind, value if "/" in value else None,
                                  None if "/" in value else value)
        except NotAcceptable as exc:
            refusal = exc
    if refusal is not None:
        raise refusal
    return _negotiate_one(kind, accept, None)


def _negotiate_one(kind: str, accept: str | None, name: str | None) -> tuple[str, str]:
    table = _GRAPH_TYPES if kind == "triples" else _RESULT_TYPES
    offered = ", ".join(ct for ct, _ in table.values())
    what = "a graph (CONSTRUCT/DESCRIBE)" if kind == "triples" else "a result table (SELECT/ASK)"
    if name:
        key = _FORMAT_NAMES[name][1 if kind == "triples" else 0]
        if key is None:
            raise NotAcceptable(f"format {name!r} cannot express {what}; use one of: {offered}")
        return key, table[key][0]
    ranges = _parse_accept(accept)
    if any(media == "text/html" and q > 0 for media, q, _ in ranges):
        ranges = []  # a browser: its wildcard preferences mean nothing here; use the default
    if not ranges:
        key = next(iter(table))
        return key, table[key][0]
    best = None
    for order, (key, (canonical, medias)) in enumerate(table.items()):
        for media in medias:
            found = _match(ranges, media)
            if found is None or found[0] <= 0:
                continue
            if found[1] < 2 and media != canonical:
                continue  # a wildcard stands for the type actually sent, not for its aliases
            rank = (found[0], found[1], found[2], -order)
            if best is None or rank > best[0]:
                best = (rank, key)
    if best is None:
        raise NotAcceptable(f"none of the requested types ({accept}) can express {what}; "
                            f"available: {offered}")
    return best[1], table[best[1]][0]


def format_key_valid(formats) -> None:
    """Refuse an unknown ``format=`` value before the query runs."""
    for fmt in [formats] if isinstance(formats, str) else formats or []:
        value = fmt.strip().lower()
        if value and "/" not in value and value not in _FORMAT_NAMES:
            raise QueryError(f"unknown format {fmt!r}; known: {', '.join(_FORMAT_NAMES)} "
                             "or a media type")


# --- serializers --------------------------------------------------------------------------------

_ECHAR = {"\t": "\\t", "\b": "\\b", "\n": "\\n", "\r": "\\r", "\f": "\\f", '"': '\\"',
          "\\": "\\\\"}
_IRI_BAD = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ECHAR:
            out.append(_ECHAR[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _nt_term(term) -> str:
    """A term in N-Triples / SPARQL syntax (the TSV form)."""
    kind = term[0]
    if kind == "uri":
        return "<" + _IRI_BAD.sub(lambda m: f"\\u{ord(m.group()):04X}", term[1]) + ">"
    if kind == "bnode":
        return "_:" + term[1]
    if kind == "literal":
        _, text, dt, lang = term
        out = '"' + _escape_string(text) + '"'
        if lang:
            return out + "@" + lang
        if dt:
            return out + "^^" + _nt_term(("uri", dt))
        return out
    if kind == "triple":
        return "<<( " + " ".join(_nt_term(t) for t in term[1:]) + " )>>"
    raise ValueError(f"not an encoded term: {term!r}")


def _json_term(term) -> dict:
    kind = term[0]
    if kind == "uri":
        return {"type": "uri", "value": term[1]}
    if kind == "bnode":
        return {"type": "bnode", "value": term[1]}
    if kind == "literal":
        _, text, dt, lang = term
        out = {"type": "literal", "value": text}
        if lang:
            out["xml:lang"] = lang
        elif dt:
            out["datatype"] = dt
        return out
    if kind == "triple":
        return {"type": "triple", "value": {"subject": _json_term(term[1]),
                                            "predicate": _json_term(term[2]),
                                            "object": _json_term(term[3])}}
    raise ValueError(f"not an encoded term: {term!r}")


def _xml_text(text: str) -> str:
    text = _XML_BAD.sub("\ufffd", text)  # not representable in XML 1.0
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def _xml_attr(text: str) -> str:
    return (_xml_text(text).replace('"', "&quot;").replace("\t", "&#9;")
            .replace("\n", "&#10;"))


def _xml_term(term) -> str:
    kind = term[0]
    if kind == "uri":
        return f"<uri>{_xml_text(term[1])}</uri>"
    if kind == "bnode":
        return f"<bnode>{_xml_text(term[1])}</bnode>"
    if kind == "literal":
        _, text, dt, lang = term
        if lang:
            return f'<literal xml:lang="{_xml_attr(lang)}">{_xml_text(text)}</literal>'
        if dt:
            return f'<literal datatype="{_xml_attr(dt)}">{_xml_text(text)}</literal>'
        return f"<literal>{_xml_text(text)}</literal>"
    if kind == "triple":
        return ("<triple>" + "".join(f"<{part}>{_xml_term(t)}</{part}>" for part, t in
                                     zip(("subject", "predicate", "object"), term[1:]))
                + "</triple>")
    raise ValueError(f"not an encoded term: {term!r}")


def _csv_value(term) -> str:
    if term is None:
        return ""
    kind = term[0]
    if kind == "bnode":
        return "_:" + term[1]
    if kind == "triple":
        return _nt_term(term)
    return term[1]  # an IRI, or a literal's lexical form


def results_json(result: RawResult) -> bytes:
    """SPARQL 1.1 Query Results JSON Format."""
    if result.kind == "ask":
        doc = {"head": {}, "boolean": bool(result.boolean)}
    else:
        bindings = [{v: _json_term(t) for v, t in zip(result.vars, row) if t is not None}
                    for row in result.rows]
        doc = {"head": {"vars": list(result.vars)}, "results": {"bindings": bindings}}
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def results_xml(result: RawResult) -> bytes:
    """SPARQL Query Results XML Format (second edition)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<sparql xmlns="{_XML_NS}">\n']
    if result.kind == "ask":
        out.append("<head/>\n")
        out.append(f"<boolean>{'true' if result.boolean else 'false'}</boolean>\n")
    else:
        out.append("<head>")
        out.extend(f'<variable name="{_xml_attr(v)}"/>' for v in result.vars)
        out.append("</head>\n<results>\n")
        for row in result.rows:
            out.append("<result>")
            for v, t in zip(result.vars, row):
                if t is not None:
                    out.append(f'<binding name="{_xml_attr(v)}">{_xml_term(t)}</binding>')
            out.append("</result>\n")
        out.append("</results>\n")
    out.append("</sparql>\n")
    return "".join(out).encode("utf-8")


def results_csv(result: RawResult) -> bytes:
    """SPARQL 1.1 Query Results CSV Format (RFC 4180, CRLF line ends)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if result.kind == "ask":
        writer.writerow(["_askResult"])
        writer.writerow(["true" if result.boolean else "false"])
    else:
        writer.writerow(result.vars)
        for row in result.rows:
            writer.writerow([_csv_value(t) for t in row])
    return buf.getvalue().encode("utf-8")


def results_tsv(result: RawResult) -> bytes:
    """SPARQL 1.1 Query Results TSV Format (terms in SPARQL/Turtle syntax)."""
    if result.kind == "ask":
        lines = ["?_askResult", "true" if result.boolean else "false"]
    else:
        lines = ["\t".join("?" + v for v in result.vars)]
        lines.extend("\t".join("" if t is None else _nt_term(t) for t in row)
                     for row in result.rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


_RDF_FORMATS = {"turtle": "TURTLE", "ntriples": "N_TRIPLES", "rdfxml": "RDF_XML",
                "jsonld": "JSON_LD"}


def graph_bytes(result: RawResult, key: str) -> bytes:
    """CONSTRUCT/DESCRIBE triples serialized by Oxigraph (Turtle with the project's prefixes)."""
    import pyoxigraph as ox

    from .vocab import NAMESPACES

    triples = [ox.Triple(decode_ox(s), decode_ox(p), decode_ox(o)) for s, p, o in result.rows]
    fmt = getattr(ox.RdfFormat, _RDF_FORMATS[key])
    kwargs = {"prefixes": dict(NAMESPACES)} if key in ("turtle",) else {}
    return ox.serialize(triples, format=fmt, **kwargs) or b""


def serialize(result: RawResult, key: str) -> bytes:
    """``result`` in the serialization ``key`` (see :func:`negotiate`)."""
    if result.kind == "triples":
        return graph_bytes(result, key)
    return {"json": results_json, "xml": results_xml, "csv": results_csv,
            "tsv": results_tsv}[key](result)


# --- the query page -----------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:62em;margin:1.5em auto;padding:0 1em;color:#222}
textarea{width:100%;font:13px/1.4 monospace;box-sizing:border-box}
code,pre{font:13px monospace;background:#f4f4f4}
pre{padding:.5em;overflow:auto}
.q{border-top:1px solid #ddd;padding:.6em 0}
.q form{margin:.3em 0}
label{margin-right:1em}
input[type=text]{width:14em}
small{color:#555}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
PAGE_CSP = (f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'")
_API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
_EXAMPLE = """SELECT ?g (COUNT(*) AS ?triples)
WHERE { GRAPH ?g { ?s ?p ?o } }
GROUP BY ?g
ORDER BY DESC(?triples)
LIMIT 10"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def query_page(queries, runner: QueryRunner | None = None) -> bytes:
    """The self-contained HTML query page (no script, no external resource)."""
    from .vocab import NAMESPACES

    timeout = f"{runner.timeout:g}" if runner else "?"
    limit = f"{runner.max_rows}" if runner else "?"
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<title>kg SPARQL endpoint</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>SPARQL endpoint</h1>",
        "<p>Read-only. Every fact is a claim in its own named graph: match data with "
        "<code>GRAPH ?g { … }</code>. Queries stop after "
        f"{_e(timeout)} s and return at most {_e(limit)} rows. SERVICE, updates and FROM "
        "outside the store are refused.</p>",
        "<form method=\"post\" action=\"/sparql\">",
        f"<p><textarea name=\"query\" rows=\"12\" spellcheck=\"false\">{_e(_EXAMPLE)}"
        "</textarea></p>",
        "<p><label>Results as <select name=\"format\">",
        "<option value=\"json\">JSON</option><option value=\"xml\">XML</option>",
        "<option value=\"csv\">CSV</option><option value=\"tsv\">TSV</option>",
        "<option value=\"turtle\">Turtle (CONSTRUCT)</option>",
        "<option value=\"nt\">N-Triples (CONSTRUCT)</option>",
        "</select></label> <button type=\"submit\">Run query</button></p></form>",
        "<details><summary>Predeclared prefixes</summary><pre>",
        _e("".join(f"PREFIX {p}: <{ns}>\n" for p, ns in NAMESPACES.items())),
        "</pre></details>",
        "<h2>Named queries</h2><p><small>Also as JSON: <a href=\"/queries\">/queries</a>. "
        "A page of a long answer: add <code>limit=20&amp;offset=40</code> to its URL."
        "</small></p>",
    ]
    for q in sorted(queries.values(), key=lambda q: q.name):
        url = "/query/" + quote(q.name, safe="")
        parts.append(f"<div class=\"q\"><a href=\"{_e(url)}\"><b>{_e(q.name)}</b></a> "
                     f"<small>{_e(q.description)}</small>")
        if q.params:
            parts.append(f"<form method=\"get\" action=\"{_e(url)}\">")
            for p in q.params:
                req = "" if p.optional else " required"
                opt = " (optional)" if p.optional else ""
                parts.append(f"<label title=\"{_e(p.description)}\">{_e(p.name)} "
                             f"<small>{_e(p.kind)}{opt}</small> <input type=\"text\" "
                             f"name=\"{_e(p.name)}\"{req}></label>")
            parts.append("<button type=\"submit\">Run</button></form>")
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "".join(parts).encode("utf-8")


def queries_json(queries) -> list[dict]:
    return [{"name": q.name, "description": q.description,
             "url": "/query/" + quote(q.name, safe=""),
             "params": [{"name": p.name, "kind": p.kind, "optional": p.optional,
                         "description": p.description} for p in q.params]}
            for q in sorted(queries.values(), key=lambda q: q.name)]


# --- the server ---------------------------------------------------------------------------------

class HTTPError(Exception):
    """An answer other than 200, with its message."""

    def __init__(self, status: int, message: str, *, candidates=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.candidates = candidates
        self.headers = headers or {}


def _status_of(exc: Exception) -> HTTPError:
    text = str(exc)
    candidates = getattr(exc, "candidates", None) or None
    if isinstance(exc, HTTPError):
        return exc
    if isinstance(exc, WorkersBusy):
        return HTTPError(503, text, headers={"Retry-After": "5"})
    if isinstance(exc, QueryTimeout):
        return HTTPError(504, text)
    if isinstance(exc, NotAcceptable):
        return HTTPError(406, text)
    if isinstance(exc, (UnsafeQuery, QueryError)):
        return HTTPError(400, text, candidates=candidates)
    if isinstance(exc, (UnknownEntity, AmbiguousEntity, EntityError)):
        return HTTPError(400, text, candidates=candidates)
    if isinstance(exc, StoreError):
        return HTTPError(503, f"the store is unavailable: {text}")
    if isinstance(exc, KGError):
        return HTTPError(400, text, candidates=candidates)
    return HTTPError(500, "internal error: the server could not answer this request")


_LOOPBACK_NAMES = {"localhost", "localhost.", "127.0.0.1", "::1", "[::1]"}


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SparqlServer(ThreadingHTTPServer):
    """A threading HTTP server holding the query runner and the named queries."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, runner: QueryRunner, *, max_body: int = MAX_BODY,
                 quiet: bool = False):
        self.runner = runner
        self.max_body = max_body
        self.quiet = quiet
        self.check_host = _is_loopback(str(address[0]))
        super().__init__(address, SparqlHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def queries(self):
        from .query import load_queries

        return load_queries()

    def close(self) -> None:
        """Stop serving, close the socket and the worker processes."""
        self.shutdown()
        self.server_close()
        self.runner.close()


class SparqlHandler(BaseHTTPRequestHandler):
    server: SparqlServer
    protocol_version = "HTTP/1.1"
    server_version = "kg-sparql/0.1"
    sys_version = ""
    timeout = 30  # seconds a client may take to send its request

    def version_string(self) -> str:
        return self.server_version

    # -- plumbing

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Security-Policy" not in (headers or {}):
            self.send_header("Content-Security-Policy", _API_CSP)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, doc, headers=None) -> None:
        body = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _error(self, err: HTTPError) -> None:
        doc = {"error": err.message}
        if err.candidates:
            doc["candidates"] = list(err.candidates)
        self._json(err.status, doc, err.headers)

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (bad request line, 414, 501…) as JSON too."""
        short = self.responses.get(code, ("error", ""))[0]
        self.close_connection = True
        self.log_error("code %d, message %s", code, message)
        if code < 200 or code in (HTTPStatus.NO_CONTENT, HTTPStatus.RESET_CONTENT,
                                  HTTPStatus.NOT_MODIFIED):
            self.send_response(code, message)
            self.send_header("Connection", "close")
            self.end_headers()
            return
        self._json(code, {"error": message or short})

    def handle_expect_100(self):
        if self._body_length_too_large():
            self.close_connection = True
            self._error(HTTPError(413, self._too_large_message()))
            return False
        return super().handle_expect_100()

    def _body_length_too_large(self) -> bool:
        try:
            return int(self.headers.get("Content-Length") or 0) > self.server.max_body
        except ValueError:
            return False

    def _too_large_message(self) -> str:
        return (f"request body over {self.server.max_body} bytes; send a shorter query")

    def _dispatch(self, method) -> None:
        try:
            if self.server.check_host:
                host = urlsplit("//" + (self.headers.get("Host") or "localhost")).hostname
                if host is not None and not _is_loopback(host):
                    raise HTTPError(403, "this server answers only requests addressed to "
                                         "localhost")
            method()
        except HTTPError as err:
            self._error(err)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - the client gets a message, never a traceback
            err = _status_of(exc)
            if err.status == 500:
                sys.stderr.write("kg serve: internal error\n" + traceback.format_exc())
            try:
                self._error(err)
            except OSError:
                self.close_connection = True

    def do_GET(self):  # noqa: N802 - http.server's names
        self._dispatch(self._get)

    def do_POST(self):  # noqa: N802
        self._dispatch(self._post)

    def _refuse_method(self):
        def refuse():
            self._discard_body()
            raise HTTPError(405, f"{self.command} is not supported: this endpoint is read-only "
                                 "(use GET or POST)", headers={"Allow": "GET, POST"})
        self._dispatch(refuse)

    do_PUT = do_DELETE = do_PATCH = _refuse_method  # noqa: N815

    # -- parsing

    @staticmethod
    def _params(text: str) -> dict[str, list[str]]:
        try:
            return parse_qs(text, keep_blank_values=True, strict_parsing=False,
                            encoding="utf-8", errors="strict", max_num_fields=_MAX_FIELDS)
        except UnicodeDecodeError:
            raise HTTPError(400, "parameters must be UTF-8") from None
        except ValueError:
            raise HTTPError(400, f"too many parameters (over {_MAX_FIELDS})") from None

    @staticmethod
    def _one(params: dict, name: str, required: bool = False) -> str | None:
        values = params.get(name) or []
        if len(values) > 1:
            raise HTTPError(400, f"'{name}' given {len(values)} times; give it once")
        if not values:
            if required:
                raise HTTPError(400, f"missing '{name}' parameter")
            return None
        return values[0]

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise HTTPError(411, "chunked request bodies are not accepted; send Content-Length")
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise HTTPError(411, "a POST needs a Content-Length")
        try:
            length = int(length)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise HTTPError(400, "bad Content-Length") from None
        if length > self.server.max_body:
            self.close_connection = True
            self._drain(length)
            raise HTTPError(413, self._too_large_message())
        return self.rfile.read(length)

    def _discard_body(self) -> None:
        """Drop the body of a refused request; the connection closes after the answer."""
        self.close_connection = True
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return
        self._drain(length)

    def _drain(self, length: int) -> None:
        """Read (and drop) a refused body of modest size, so the client sees the answer."""
        if length <= 0 or length > 10 * self.server.max_body:
            return
        try:
            while length > 0:
                chunk = self.rfile.read(min(65536, length))
                if not chunk:
                    break
                length -= len(chunk)
        except OSError:
            pass

    # -- routes

    def _get(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        params = self._params(url.query)
        if path in ("/", "/index.html"):
            try:
                queries = self.server.queries()
            except KGError as exc:  # a broken .rq file: still offer the free-query form
                sys.stderr.write(f"kg serve: named queries unavailable: {exc}\n")
                queries = {}
            body = query_page(queries, self.server.runner)
            self._send(200, body, "text/html; charset=utf-8",
                       {"Content-Security-Policy": PAGE_CSP, "X-Frame-Options": "DENY"})
        elif path == "/sparql":
            self._sparql(params)
        elif path == "/queries":
            self._json(200, {"queries": queries_json(self.server.queries())})
        elif path.startswith("/query/"):
            try:
                name = unquote(path[len("/query/"):], errors="strict")
            except UnicodeDecodeError:
                raise HTTPError(400, "a query name must be UTF-8") from None
            self._named(name, params)
        else:
            raise HTTPError(404, f"nothing at {path}; see / for the query page, /sparql for "
                                 "the endpoint, /queries for the named queries")

    def _post(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/sparql":
            self._discard_body()
            raise HTTPError(405, "POST goes to /sparql", headers={"Allow": "GET"})
        url_params = self._params(url.query)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/sparql-update":
            self._discard_body()
            raise HTTPError(403, "updates are refused: this endpoint is read-only")
        body = self._read_body()
        if ctype == "application/x-www-form-urlencoded":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPError(400, "a form body must be UTF-8") from None
            params = self._params(text)
            for key in ("format",):
                if key in url_params and key not in params:
                    params[key] = url_params[key]
        elif ctype == "application/sparql-query":
            try:
                query = body.decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPError(400, "the query must be UTF-8") from None
            if "query" in url_params or "update" in url_params:
                raise HTTPError(400, "with an application/sparql-query body, give the query "
                                     "only in the body")
            params = dict(url_params)
            params["query"] = [query]
        else:
            raise HTTPError(415, "POST a form (application/x-www-form-urlencoded) or a query "
                                 "(application/sparql-query)")
        self._sparql(params)

    def _sparql(self, params: dict) -> None:
        if "update" in params:
            raise HTTPError(403, "updates are refused: this endpoint is read-only")
        query = self._one(params, "query")
        if query is None:
            raise HTTPError(400, "missing 'query' parameter: GET /sparql?query=… or POST a "
                                 "form with query=…; see / for the query page")
        fmt = params.get("format") or []
        format_key_valid(fmt)
        result = self.server.runner.select(
            query, default_graph=params.get("default-graph-uri") or None,
            named_graphs=params.get("named-graph-uri") or None, raw=True)
        self._result(result, fmt)

    def _named(self, name: str, params: dict) -> None:
        queries = self.server.queries()
        if name not in queries:
            near = difflib.get_close_matches(name, list(queries), n=5, cutoff=0.5)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise HTTPError(404, f"no query named {name!r}{hint} (see /queries)",
                            candidates=near)
        fmt = params.get("format") or []
        format_key_valid(fmt)
        limit, offset = self._count(params, "limit", 1), self._count(params, "offset", 0)
        values = {}
        for key in params:
            if key in ("format", "limit", "offset"):
                continue
            values[key] = self._one(params, key)
        rows = min(limit or self.server.runner.max_rows, self.server.runner.max_rows)
        # without a limit, the row cap bounds the answer: a bound, not a page (kg.worker)
        result = self.server.runner.named(name, values, raw=True,
                                          limit=rows if limit else None, offset=offset or 0)
        after = None
        if result.truncated:  # the page after this one, as a link (RFC 8288)
            following = dict(params, offset=[str((offset or 0) + len(result.rows))])
            after = f"/query/{quote(name, safe='')}?" + urlencode(following, doseq=True)
        self._result(result, fmt, rows, after)

    def _count(self, params: dict, name: str, least: int) -> int | None:
        """The whole number given as ``name`` (at least ``least``), or ``None``."""
        text = self._one(params, name)
        if text is None:
            return None
        if not re.fullmatch(r"[0-9]{1,12}", text) or int(text) < least:
            raise HTTPError(400, f"'{name}' must be a whole number from {least}, not {text!r}")
        return int(text)

    def _result(self, result: RawResult, fmt: list[str], limit: int | None = None,
                after: str | None = None) -> None:
        key, ctype = negotiate(result.kind, self.headers.get("Accept"), fmt)
        body = serialize(result, key)
        headers = {"Vary": "Accept"}
        if result.truncated:
            headers["X-Result-Truncated"] = f"true; limit={limit or self.server.runner.max_rows}"
        if after is not None:
            headers["Link"] = f'<{after}>; rel="next"'
        self._send(200, body, f"{ctype}; charset=utf-8", headers)


# --- starting it --------------------------------------------------------------------------------

class ServerHandle(NamedTuple):
    """A running server: unpacks as ``(server, thread, url)``; ``close()`` stops everything."""

    server: SparqlServer
    thread: threading.Thread
    url: str

    def close(self) -> None:
        self.server.close()
        self.thread.join(10)

    def __enter__(self) -> "ServerHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_server(store_path, host: str = "127.0.0.1", port: int = 8000, timeout: float = 10.0,
                *, workers: int = 2, max_rows: int = 10_000, max_body: int = MAX_BODY,
                quiet: bool = False, **runner_options) -> SparqlServer:
    """A bound, not yet serving :class:`SparqlServer` with its worker pool started."""
    runner = QueryRunner(Path(store_path), timeout=timeout, max_rows=max_rows, workers=workers,
                         **runner_options)
    try:
        return SparqlServer((host, port), runner, max_body=max_body, quiet=quiet)
    except Exception:
        runner.close()
        raise


def start_server(store_path, port: int = 0, *, host: str = "127.0.0.1", timeout: float = 10.0,
                 quiet: bool = True, **options) -> ServerHandle:
    """Serve ``store_path`` from a background thread (``port=0``: a free port). For tests."""
    server = make_server(store_path, host, port, timeout, quiet=quiet, **options)
    thread = threading.Thread(target=server.serve_forever, name="kg-serve", daemon=True)
    thread.start()
    return ServerHandle(server, thread, server.url)


def serve(store_path, host: str = "127.0.0.1", port: int = 8000, timeout: float = 10.0,
          **options) -> None:
    """Serve the store at ``http://host:port/`` until interrupted (Ctrl-C).

    Raises
    ------
    StoreError
        The store cannot be opened.
    OSError
        The address is taken.
    """
    server = make_server(store_path, host, port, timeout, **options)
    if not _is_loopback(host):
        sys.stderr.write(f"kg serve: warning: listening on {host}, not only this machine\n")
    sys.stderr.write(f"kg serve: SPARQL endpoint at {server.url}/sparql, query page at "
                     f"{server.url}/ (Ctrl-C stops)\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.runner.close()
