"""The SPARQL endpoint (kg.server): protocol, formats, named queries and the guards, over HTTP."""

from __future__ import annotations

import csv
import http.server
import io
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.safety import MAX_QUERY_CHARS

import SPARQLWrapper  # noqa: E402  (a missing [test] extra must fail, not skip)
from SPARQLWrapper import (CSV, JSON, N3, POST, POSTDIRECTLY, TSV, TURTLE, URLENCODED,  # noqa: E402
                           XML, SPARQLWrapper as Wrapper)

from kg.query import load_queries  # noqa: E402
from kg.server import negotiate, start_server  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"
TIMEOUT = 1.5
MAX_ROWS = 200
SRX = "{http://www.w3.org/2005/sparql-results#}"

COUNT_GRAPHS = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
LABELS = ("SELECT ?s ?label WHERE { GRAPH ?g { ?s rdfs:label ?label } } "
          "ORDER BY ?s ?label LIMIT 5")
# one literal with everything the formats must escape
TRICKY = 'a "quoted", comma\nnew line\ttab <b>&amp;</b> \\ back\rslash ünï'
TRICKY_QUERY = ("SELECT ?plain ?lang ?typed ?iri ?unbound WHERE { "
                f"BIND({json.dumps(TRICKY)} AS ?plain) BIND(\"chat\"@fr AS ?lang) "
                "BIND(\"2018-06-12\"^^xsd:date AS ?typed) "
                "BIND(<https://w3id.org/newskg/id/actor/x> AS ?iri) }")


@pytest.fixture(scope="module")
def server(store_path):
    handle = start_server(store_path, port=0, timeout=TIMEOUT, max_rows=MAX_ROWS, workers=2)
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def endpoint(server):
    return server.url + "/sparql"


@pytest.fixture()
def canary():
    """A loopback HTTP server that records every request it gets."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append((self.command, self.path))
            body = b'{"head":{"vars":["s"]},"results":{"bindings":[]}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.hits = hits
    srv.iri = f"http://127.0.0.1:{srv.server_address[1]}/sparql"
    yield srv
    srv.shutdown()
    srv.server_close()


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


def request(url, *, data=None, headers=None, method=None, timeout=30) -> Reply:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.headers, err.read())


def get(server, path, params=None, headers=None) -> Reply:
    query = "?" + urllib.parse.urlencode(params, doseq=True) if params else ""
    return request(server.url + path + query, headers=headers)


def post_form(server, params, headers=None, path="/sparql") -> Reply:
    data = urllib.parse.urlencode(params, doseq=True).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return request(server.url + path, data=data, headers=headers)


def post_query(server, text, headers=None) -> Reply:
    headers = {"Content-Type": "application/sparql-query", **(headers or {})}
    return request(server.url + "/sparql", data=text.encode("utf-8"), headers=headers)


def assert_error(reply, status, needle=""):
    assert reply.status == status, reply.body[:500]
    assert reply.headers.get_content_type() == "application/json"
    doc = reply.json()
    assert isinstance(doc.get("error"), str) and needle in doc["error"], doc
    assert "Traceback" not in reply.text
    return doc


def wrapper(endpoint, query, fmt=JSON, method="GET", request_method=URLENCODED):
    sw = Wrapper(endpoint)
    sw.setQuery(query)
    sw.setReturnFormat(fmt)
    sw.setMethod(method)
    sw.setRequestMethod(request_method)
    return sw.query().convert()


# --- SPARQLWrapper: the protocol as a client sees it --------------------------------------------

def test_sparqlwrapper_get_json(endpoint, store_path):
    doc = wrapper(endpoint, COUNT_GRAPHS, JSON, "GET")
    n = int(doc["results"]["bindings"][0]["n"]["value"])
    graphs = sum(1 for _ in ox.Store.read_only(str(store_path)).named_graphs())
    assert n == graphs > 10
    assert doc["head"]["vars"] == ["n"]
    assert doc["results"]["bindings"][0]["n"]["datatype"].endswith("#integer")


@pytest.mark.parametrize("request_method", [URLENCODED, POSTDIRECTLY])
def test_sparqlwrapper_post(endpoint, request_method):
    doc = wrapper(endpoint, LABELS, JSON, POST, request_method)
    rows = doc["results"]["bindings"]
    assert len(rows) == 5 and all(r["s"]["type"] == "uri" for r in rows)
    assert rows == wrapper(endpoint, LABELS, JSON, "GET")["results"]["bindings"]


def test_sparqlwrapper_xml(endpoint):
    dom = wrapper(endpoint, LABELS, XML)
    results = dom.getElementsByTagName("result")
    assert len(results) == 5
    names = [v.getAttribute("name") for v in dom.getElementsByTagName("variable")]
    assert names == ["s", "label"]


def test_sparqlwrapper_csv_and_tsv(endpoint):
    text = wrapper(endpoint, LABELS, CSV).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["s", "label"] and len(rows) == 6
    assert "\r\n" in text
    tsv = wrapper(endpoint, LABELS, TSV, POST).decode("utf-8")
    lines = tsv.rstrip("\n").split("\n")
    assert lines[0] == "?s\t?label" and len(lines) == 6
    assert all(line.split("\t")[0].startswith("<") for line in lines[1:])
    # the same rows in every format
    json_rows = wrapper(endpoint, LABELS, JSON)["results"]["bindings"]
    assert [r[0] for r in rows[1:]] == [r["s"]["value"] for r in json_rows]


@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_ask(endpoint, fmt):
    yes = wrapper(endpoint, "ASK { GRAPH ?g { ?s a kg:Meeting } }", fmt)
    no = wrapper(endpoint, "ASK { GRAPH ?g { ?s a kg:NoSuchClass } }", fmt)
    if fmt == JSON:
        assert yes == {"head": {}, "boolean": True} and no["boolean"] is False
    elif fmt == XML:
        assert yes.getElementsByTagName("boolean")[0].firstChild.data == "true"
        assert no.getElementsByTagName("boolean")[0].firstChild.data == "false"
    else:
        assert yes.decode().split()[-1] == "true" and no.decode().split()[-1] == "false"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sparqlwrapper_construct(endpoint):
    query = ("CONSTRUCT { ?m a kg:Meeting ; rdfs:label ?l } WHERE { GRAPH ?g { ?m a kg:Meeting } "
             "GRAPH ?h { ?m rdfs:label ?l } }")
    from rdflib import Graph

    turtle = wrapper(endpoint, query, TURTLE)
    g = Graph().parse(data=turtle, format="turtle")
    assert len(g) > 2
    rdfxml = wrapper(endpoint, query, XML)  # SPARQLWrapper parses RDF/XML into a Graph
    assert isinstance(rdfxml, Graph) and set(rdfxml) == set(g)
    n3 = wrapper(endpoint, query, N3)
    assert set(Graph().parse(data=n3, format="turtle")) == set(g)
    describe = wrapper(endpoint, "DESCRIBE <https://w3id.org/newskg/id/actor/donald-trump>",
                       TURTLE)
    assert isinstance(describe, bytes)


# --- formats: spec-correct escaping -------------------------------------------------------------

def test_formats_escape_and_round_trip(server):
    expected = {"plain": ("literal", TRICKY, None, None), "lang": ("literal", "chat", None, "fr"),
                "typed": ("literal", "2018-06-12", "http://www.w3.org/2001/XMLSchema#date", None),
                "iri": ("uri", "https://w3id.org/newskg/id/actor/x")}
    # JSON
    doc = get(server, "/sparql", {"query": TRICKY_QUERY},
              {"Accept": "application/sparql-results+json"}).json()
    row = doc["results"]["bindings"][0]
    assert doc["head"]["vars"] == ["plain", "lang", "typed", "iri", "unbound"]
    assert "unbound" not in row
    assert row["plain"] == {"type": "literal", "value": TRICKY}
    assert row["lang"] == {"type": "literal", "value": "chat", "xml:lang": "fr"}
    assert row["typed"]["datatype"] == expected["typed"][2]
    # XML: parses, and gives back the exact text (\r included)
    reply = get(server, "/sparql", {"query": TRICKY_QUERY},
                {"Accept": "application/sparql-results+xml"})
    assert reply.headers.get_content_type() == "application/sparql-results+xml"
    root = ET.fromstring(reply.body)
    bindings = {b.get("name"): b[0] for b in root.iter(SRX + "binding")}
    assert bindings["plain"].text == TRICKY
    assert bindings["lang"].get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    assert bindings["typed"].get("datatype") == expected["typed"][2]
    assert bindings["iri"].tag == SRX + "uri"
    # CSV: RFC 4180 quoting, lexical forms only
    reply = get(server, "/sparql", {"query": TRICKY_QUERY}, {"Accept": "text/csv"})
    rows = list(csv.reader(io.StringIO(reply.text, newline="")))
    assert rows == [["plain", "lang", "typed", "iri", "unbound"],
                    [TRICKY, "chat", "2018-06-12", expected["iri"][1], ""]]
    # TSV, JSON and XML read back by an independent parser (Oxigraph's)
    for accept, fmt in [("text/tab-separated-values", ox.QueryResultsFormat.TSV),
                        ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
                        ("application/sparql-results+xml", ox.QueryResultsFormat.XML)]:
        reply = get(server, "/sparql", {"query": TRICKY_QUERY}, {"Accept": accept})
        parsed = list(ox.parse_query_results(reply.body, format=fmt))
        assert len(parsed) == 1
        sol = parsed[0]
        assert sol["plain"] == ox.Literal(TRICKY)
        assert sol["lang"] == ox.Literal("chat", language="fr")
        assert sol["typed"] == ox.Literal("2018-06-12", datatype=ox.NamedNode(expected["typed"][2]))
        assert sol["iri"] == ox.NamedNode(expected["iri"][1])
        assert sol["unbound"] is None


def test_construct_formats_parse(server):
    query = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s a kg:Meeting ; ?p ?o } }"
    sets = []
    for accept, fmt in [("text/turtle", ox.RdfFormat.TURTLE),
                        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
                        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
                        ("application/ld+json", ox.RdfFormat.JSON_LD)]:
        reply = post_query(server, query, {"Accept": accept})
        assert reply.status == 200 and reply.headers.get_content_type() == accept
        sets.append({(t.subject, t.predicate, t.object) for t in ox.parse(reply.body, format=fmt)})
    assert sets[0] and all(s == sets[0] for s in sets)


# --- content negotiation ------------------------------------------------------------------------

@pytest.mark.parametrize("accept, expected", [
    (None, "application/sparql-results+json"),
    ("*/*", "application/sparql-results+json"),
    ("application/json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.4, text/tab-separated-values;q=0.9", "text/tab-separated-values"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # a browser
     "application/sparql-results+json"),
    ("text/*", "text/csv"),
])
def test_content_negotiation_by_accept(server, accept, expected):
    headers = {"Accept": accept} if accept else {}
    reply = get(server, "/sparql", {"query": LABELS}, headers)
    assert reply.status == 200
    assert reply.headers.get_content_type() == expected
    assert "Accept" in reply.headers.get("Vary", "")


def test_format_parameter_overrides_accept(server):
    reply = get(server, "/sparql", {"query": LABELS, "format": "csv"},
                {"Accept": "application/sparql-results+json"})
    assert reply.headers.get_content_type() == "text/csv"
    reply = get(server, "/sparql", {"query": LABELS, "format": "text/tab-separated-values"})
    assert reply.headers.get_content_type() == "text/tab-separated-values"
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 2"
    reply = get(server, "/sparql", {"query": construct, "format": "nt"})
    assert reply.headers.get_content_type() == "application/n-triples"
    assert_error(get(server, "/sparql", {"query": LABELS, "format": "yaml"}), 400, "format")


def test_not_acceptable(server):
    assert_error(get(server, "/sparql", {"query": LABELS}, {"Accept": "text/turtle"}), 406,
                 "text/csv")
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert_error(get(server, "/sparql", {"query": construct}, {"Accept": "text/csv"}), 406)


def test_negotiate_unit():
    assert negotiate("ask", "application/sparql-results+xml;q=0.1, text/csv") == (
        "csv", "text/csv")
    assert negotiate("triples", "application/json") == ("jsonld", "application/ld+json")
    assert negotiate("triples", None) == ("turtle", "text/turtle")
    assert negotiate("select", "text/csv;q=0, text/*") == ("tsv", "text/tab-separated-values")
    assert negotiate("select", "application/sparql-results+json;q=0, */*")[0] == "xml"


# --- the page and the named queries -------------------------------------------------------------

def test_query_page(server):
    reply = get(server, "/")
    assert reply.status == 200 and reply.headers.get_content_type() == "text/html"
    csp = reply.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    page = reply.text
    assert "<textarea" in page and 'action="/sparql"' in page
    assert "<script" not in page.lower() and "src=" not in page and "<link" not in page
    assert "http://" not in page.replace("PREFIX", "").split("<pre>")[0]  # nothing fetched
    for name in load_queries():
        assert f'href="/query/{name}"' in page
    # the inline style is the one the policy allows, by hash
    import base64
    import hashlib
    import re

    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp


def test_queries_lists_the_named_queries(server):
    reply = get(server, "/queries")
    assert reply.status == 200
    listed = {q["name"]: q for q in reply.json()["queries"]}
    queries = load_queries()
    assert set(listed) == set(queries)
    for name, q in queries.items():
        assert listed[name]["description"] == q.description
        assert [p["name"] for p in listed[name]["params"]] == [p.name for p in q.params]
        assert listed[name]["url"] == f"/query/{name}"


def _with_param(kinds, optional=None):
    for q in sorted(load_queries().values(), key=lambda q: q.name):
        for p in q.params:
            if p.kind in kinds and (optional is None or p.optional == optional):
                return q, p
    return None, None


def _an_actor_label(server):
    doc = get(server, "/sparql", {"query": "SELECT ?l WHERE { GRAPH ?g { ?a a foaf:Person ; "
                                           "rdfs:label ?l } } ORDER BY ?l LIMIT 1"}).json()
    return doc["results"]["bindings"][0]["l"]["value"]


def test_named_query_runs_with_a_parameter(server):
    q, p = _with_param({"actor"})
    if q is None:
        pytest.skip("no named query takes an actor")
    label = _an_actor_label(server)
    reply = get(server, f"/query/{q.name}", {p.name: label})
    assert reply.status == 200, reply.text
    doc = reply.json()
    assert "head" in doc
    csv_reply = get(server, f"/query/{q.name}", {p.name: label}, {"Accept": "text/csv"})
    assert csv_reply.status == 200 and csv_reply.headers.get_content_type() == "text/csv"
    if "results" in doc:
        rows = list(csv.reader(io.StringIO(csv_reply.text, newline="")))
        assert rows[0] == doc["head"]["vars"]
        assert len(rows) - 1 == len(doc["results"]["bindings"])


def test_every_named_query_without_required_parameters_answers(server):
    for q in load_queries().values():
        if any(not p.optional for p in q.params):
            continue
        reply = get(server, f"/query/{q.name}")
        assert reply.status == 200, (q.name, reply.text)
        assert "head" in reply.json()


def test_named_query_errors(server):
    doc = assert_error(get(server, "/query/view_meeting"), 404, "no query named")
    assert "view_meetings" in doc.get("candidates", []) or "view_meetings" not in load_queries()
    assert_error(get(server, "/query/no_such_query_at_all"), 404)
    name = sorted(load_queries())[0]
    assert_error(get(server, f"/query/{name}", {"no_such_param": "1"}), 400, "unknown parameter")
    q, p = _with_param({"actor", "meeting", "pledge", "date", "entity", "measure"},
                       optional=False)
    if q is not None:
        assert_error(get(server, f"/query/{q.name}"), 400, f"missing parameter '{p.name}'")
    q, p = _with_param({"date"})
    if q is not None:
        assert_error(get(server, f"/query/{q.name}", {p.name: "12 June"}), 400, "date")
    q, p = _with_param({"actor"})
    if q is not None:
        assert_error(get(server, f"/query/{q.name}", {p.name: "Nobody Atall"}), 400, "actor")


def test_hostile_parameter_is_a_plain_value(server):
    hostile = 'x" } UNION { ?s ?p ?o } #'
    q, p = _with_param({"actor", "entity"})
    if q is not None:  # a name that is no one: a 400 naming it, nothing injected
        doc = assert_error(get(server, f"/query/{q.name}", {p.name: hostile}), 400)
        assert hostile in doc["error"]
    q, p = _with_param({"text"})
    if q is not None:  # a text filter: just an odd string, matching nothing
        reply = get(server, f"/query/{q.name}", {p.name: hostile})
        assert reply.status == 200, reply.text
        doc = reply.json()
        plain = get(server, f"/query/{q.name}").json()
        assert len(doc["results"]["bindings"]) <= len(plain["results"]["bindings"])
        assert len(doc["results"]["bindings"]) == 0
    if q is None and _with_param({"actor", "entity"})[0] is None:
        pytest.skip("no named query takes a parameter")


# --- read-only and nothing leaves the store -----------------------------------------------------

def test_updates_are_refused(server, endpoint):
    before = get(server, "/sparql", {"query": COUNT_GRAPHS}).json()
    update = "INSERT DATA { GRAPH <http://x/g> { <http://x/s> <http://x/p> <http://x/o> } }"
    assert_error(post_form(server, {"update": update}), 403, "read-only")
    assert_error(get(server, "/sparql", {"update": update}), 403, "read-only")
    assert_error(request(endpoint, data=update.encode(),
                         headers={"Content-Type": "application/sparql-update"}), 403)
    assert_error(post_form(server, {"query": update}), 400, "read-only")
    assert_error(post_query(server, "DROP ALL"), 400, "read-only")
    assert_error(get(server, "/sparql", {"query": "CLEAR ALL"}), 400)
    with pytest.raises(Exception) as info:  # SPARQLWrapper sends it as update=
        sw = Wrapper(endpoint)
        sw.setQuery(update)
        sw.setMethod(POST)
        sw.query()
    assert "403" in str(info.value) or "read-only" in str(info.value)
    assert get(server, "/sparql", {"query": COUNT_GRAPHS}).json() == before


@pytest.mark.parametrize("template", [
    "SELECT * WHERE {{ SERVICE <{c}> {{ ?s ?p ?o }} }}",
    "select * where {{ service <{c}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ GRAPH ?g {{ ?a ?b ?c }} "
    "OPTIONAL {{ SERVICE SILENT <{c}> {{ ?s ?p ?o }} }} }}",
    "SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{c}> {{ ?s ?p ?o }} }} }} UNION {{ }} }}",
    "SELECT * WHERE {{ SERVICE\t# comment\n\r\n<{c}>{{?s ?p ?o}} }}",
    "LOAD <{c}>",
    "SELECT * FROM <{c}> WHERE {{ ?s ?p ?o }}",
])
def test_service_is_refused_and_the_canary_hears_nothing(server, canary, template):
    query = template.format(c=canary.iri)
    for reply in (get(server, "/sparql", {"query": query}), post_form(server, {"query": query}),
                  post_query(server, query)):
        assert_error(reply, 400)
    time.sleep(0.2)
    assert canary.hits == []


def test_from_a_secret_file_is_refused(server, tmp_path):
    secret = tmp_path / "secret.ttl"
    token = "c4n4ry-s3cr3t-7f1e"
    secret.write_text(f'<http://x/s> <http://x/p> "{token}" .\n')
    iri = secret.as_uri()
    queries = [f"SELECT * FROM <{iri}> WHERE {{ ?s ?p ?o }}",
               f"SELECT * FROM NAMED <{iri}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
               f"CONSTRUCT {{ ?s ?p ?o }} FROM <{iri}> WHERE {{ ?s ?p ?o }}",
               f"LOAD <{iri}>"]
    for query in queries:
        for reply in (get(server, "/sparql", {"query": query}),
                      post_query(server, query, {"Accept": "text/csv"})):
            assert reply.status == 400
            assert token not in reply.text
    for param in ("default-graph-uri", "named-graph-uri"):
        reply = get(server, "/sparql", {"query": "SELECT * WHERE { ?s ?p ?o }", param: iri})
        assert_error(reply, 400, "refused")
        assert token not in reply.text


def test_protocol_dataset_naming_a_graph_of_the_store(server):
    entities = "https://w3id.org/newskg/id/graph/entities"
    reply = get(server, "/sparql", {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                                    "default-graph-uri": entities})
    assert reply.status == 200
    assert int(reply.json()["results"]["bindings"][0]["n"]["value"]) > 0


# --- limits -------------------------------------------------------------------------------------

def test_runaway_query_times_out_and_the_server_keeps_answering(server, runaway_query):
    assert server.server.runner.wait_idle()
    started = time.monotonic()
    reply = post_form(server, {"query": runaway_query})
    elapsed = time.monotonic() - started
    assert reply.status in (503, 504)
    assert "time limit" in reply.json()["error"]
    assert elapsed < TIMEOUT + 5
    started = time.monotonic()
    reply = get(server, "/sparql", {"query": "ASK { GRAPH ?g { ?s ?p ?o } }"})
    assert reply.status == 200 and reply.json()["boolean"] is True
    assert time.monotonic() - started < 1.0


def test_slow_to_parse_query_times_out(server):
    bomb = ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } "
            + " ".join(f"FILTER(?o != {i})" for i in range(1000)) + " }")
    assert len(bomb) < MAX_QUERY_CHARS  # under the length cap, yet seconds to parse
    assert server.server.runner.wait_idle()
    started = time.monotonic()
    reply = post_query(server, bomb)
    assert reply.status == 504 and time.monotonic() - started < TIMEOUT + 5
    started = time.monotonic()
    assert get(server, "/sparql", {"query": "ASK { }"}).json()["boolean"] is True
    assert time.monotonic() - started < 1.0


def test_brief_cartesian_product_ends_in_time(server):
    # without GRAPH it matches the (empty) default graph: it must simply end within the limit
    started = time.monotonic()
    reply = get(server, "/sparql",
                {"query": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"})
    assert reply.status in (200, 503, 504)
    assert time.monotonic() - started < TIMEOUT + 5


def test_results_are_capped_and_marked(server):
    reply = get(server, "/sparql", {"query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"})
    assert reply.status == 200
    assert len(reply.json()["results"]["bindings"]) == MAX_ROWS
    assert reply.headers["X-Result-Truncated"].startswith("true")
    small = get(server, "/sparql", {"query": LABELS})
    assert "X-Result-Truncated" not in small.headers


def test_oversized_body_is_refused(server):
    big = "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } #" + "x" * 200_000
    assert_error(post_query(server, big), 413)
    assert_error(post_form(server, {"query": big}), 413)
    # and the server is fine afterwards
    assert get(server, "/sparql", {"query": "ASK { }"}).json()["boolean"] is True


# --- errors and hygiene -------------------------------------------------------------------------

def test_errors_are_json_without_traceback(server):
    assert_error(get(server, "/sparql", {"query": "SELECT * WHERE { ?s ?p }"}), 400, "syntax")
    assert_error(get(server, "/sparql"), 400, "missing 'query'")
    assert_error(get(server, "/sparql", {"query": ["ASK {}", "ASK {}"]}), 400, "once")
    assert_error(get(server, "/nowhere"), 404)
    assert_error(request(server.url + "/sparql", data=b"query=x",
                         headers={"Content-Type": "text/plain"}), 415)
    assert_error(request(server.url + "/sparql", method="PUT", data=b""), 405)
    assert_error(request(server.url + "/sparql?query=%ff", headers={}), 400, "UTF-8")


def test_foreign_host_header_is_refused(server):
    assert_error(get(server, "/", headers={"Host": "attacker.example"}), 403, "localhost")
    assert get(server, "/", headers={"Host": "localhost"}).status == 200


def test_binds_to_loopback_by_default(server):
    assert server.server.server_address[0] == "127.0.0.1"


# --- following the store ------------------------------------------------------------------------

CLAIMS = "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { GRAPH ?c { ?c a kg:Claim } }"


def _claims(server) -> int:
    reply = get(server, "/sparql", {"query": CLAIMS}, {"Accept": "application/sparql-results+json"})
    assert reply.status == 200, reply.body[:300]
    return int(reply.json()["results"]["bindings"][0]["n"]["value"])


def _until(server, expected: int, seconds: float = 30.0) -> int:
    deadline = time.monotonic() + seconds
    while (n := _claims(server)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return n


def test_the_server_follows_adds_removes_and_new_builds(tmp_path):
    """A store opened read-only shows the state it was opened on: the server has its workers
    open it again when `kg add` / `kg remove` changed it or a build published a new generation
    (the one they had open is deleted by the build after next)."""
    from kg.pipeline import add_article, build, remove_article

    stem = "003_ab256062c44c36be"
    build(DATA, tmp_path, validate=False)
    store = tmp_path / "store"
    handle = start_server(store, port=0, timeout=10, workers=2, follow_every=0.2)
    try:
        everything = _claims(handle)
        pids = handle.server.runner.worker_pids
        time.sleep(0.5)
        assert _claims(handle) == everything and handle.server.runner.worker_pids == pids
        remove_article(stem, store)
        deadline, n = time.monotonic() + 30, everything
        while n == everything and time.monotonic() < deadline:
            time.sleep(0.1)
            n = _claims(handle)
        assert 0 < n < everything
        add_article(stem, DATA, store, validate=False)
        assert _until(handle, everything) == everything
        for _ in range(2):  # the second build deletes the generation the workers first opened
            build(DATA, tmp_path, validate=False)
            remove_article(stem, store)
            assert _until(handle, n) == n
    finally:
        handle.close()


def test_a_named_query_gives_pages_with_a_link_to_the_next(server, seed_store):
    from kg.query import run_named

    whole = [b["actor"] for b in _bindings(get(server, "/query/actors"))]
    assert whole == [str(r["actor"]) for r in run_named(seed_store, "actors").rows]
    reply = get(server, "/query/actors", {"limit": "4", "offset": "2"})
    assert reply.status == 200, reply.text
    assert [b["actor"] for b in _bindings(reply)] == whole[2:6]
    assert reply.headers["X-Result-Truncated"] == "true; limit=4"
    link = reply.headers["Link"]
    assert link.startswith("</query/actors?") and link.endswith('>; rel="next"')
    following = urllib.parse.parse_qs(urllib.parse.urlsplit(link[1:link.index(">")]).query)
    assert following == {"limit": ["4"], "offset": ["6"]}
    last = get(server, "/query/actors", {"limit": "4", "offset": str(len(whole) - 1)})
    assert [b["actor"] for b in _bindings(last)] == whole[-1:]
    assert "Link" not in last.headers and "X-Result-Truncated" not in last.headers
    # a page larger than the row cap is cut at the cap
    capped = get(server, "/query/corroboration", {"limit": str(MAX_ROWS * 5)})
    assert len(_bindings(capped)) == MAX_ROWS
    assert capped.headers["X-Result-Truncated"] == f"true; limit={MAX_ROWS}"


@pytest.mark.parametrize("params,needle", [
    ({"limit": "0"}, "'limit' must be a whole number from 1"),
    ({"limit": "ten"}, "'limit'"), ({"offset": "-2"}, "'offset'"),
    ({"limit": ["2", "3"]}, "give it once"),
])
def test_a_bad_page_is_a_clear_400(server, params, needle):
    assert_error(get(server, "/query/actors", params), 400, needle)


def _bindings(reply):
    assert reply.status == 200, reply.text
    return [{k: v["value"] for k, v in b.items()} for b in reply.json()["results"]["bindings"]]
