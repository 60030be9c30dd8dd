"""The query guards: kg.safety.check_query and the killable worker pool of kg.worker."""

from __future__ import annotations

import http.server
import os
import pickle
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from rdflib import BNode, Literal, URIRef

from kg.errors import (ParameterError, QueryError, QueryTimeout, UnknownEntity, UnsafeQuery)
from kg.safety import MAX_QUERY_CHARS, check_query
from kg.worker import QueryRunner, WorkersBusy, decode_ox, decode_term, encode_term

XSD = "http://www.w3.org/2001/XMLSchema#"
DATA = Path(__file__).resolve().parent.parent / "data"
TIMEOUT = 1.5


@pytest.fixture(scope="module")
def runner(store_path):
    with QueryRunner(store_path, timeout=TIMEOUT, max_rows=50, workers=2) as r:
        yield r


@pytest.fixture()
def canary():
    """A loopback HTTP server that records every request it gets."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append((self.command, self.path))
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            body = b'{"head":{"vars":[]},"results":{"bindings":[{}]}}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.hits = hits
    server.iri = f"http://127.0.0.1:{server.server_address[1]}/sparql"
    yield server
    server.shutdown()
    server.server_close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


# --- time limit ---------------------------------------------------------------------------------

def test_runaway_query_is_killed_and_the_pool_recovers(runner, runaway_query):
    assert runner.wait_idle()
    before = set(runner.worker_pids)
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="time limit"):
        runner.select(runaway_query)
    assert time.monotonic() - started < TIMEOUT + 3
    # the next query is answered at once, by the other worker
    started = time.monotonic()
    assert runner.select("ASK { }").boolean is True
    assert time.monotonic() - started < 1.0
    # the killed worker is gone and a fresh one takes its place
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(runner.worker_pids) < 2:
        time.sleep(0.1)
    after = set(runner.worker_pids)
    assert len(after) == 2 and after != before
    assert not any(_alive(pid) for pid in before - after)


def test_catastrophic_regex_is_stopped(runner):
    assert runner.wait_idle()
    # "(a+)+$" backtracks exponentially in a backtracking engine; Oxigraph's is linear, so the
    # query is slow only through the pairs it tries - either way it must end within the limit.
    query = ('SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } GRAPH ?h { ?x ?y ?z } '
             'FILTER(REGEX(CONCAT(STR(?o), STR(?z), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"), '
             '"(a+)+$")) }')
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        runner.select(query)
    assert time.monotonic() - started < TIMEOUT + 3
    long_string = ('SELECT ?n WHERE { { SELECT (GROUP_CONCAT(STR(?o); separator="a") AS ?long) '
                   'WHERE { GRAPH ?g { ?s ?p ?o } } } '
                   'BIND(REGEX(CONCAT(?long, "!"), "(a+)+$") AS ?n) }')
    started = time.monotonic()
    try:
        assert runner.select(long_string).rows[0]["n"] == Literal(False)
    except QueryTimeout:
        pass
    assert time.monotonic() - started < TIMEOUT + 3
    assert runner.select("ASK { }").boolean is True


def test_slow_parse_is_stopped_without_holding_up_other_queries(runner):
    # rdflib's pure-Python parser needs seconds for this 18 kB text: the check runs in the
    # worker, under the time limit, so it is killed like a runaway query
    bomb = ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } "
            + " ".join(f"FILTER(?o != {i})" for i in range(1000)) + " }")
    assert len(bomb) < MAX_QUERY_CHARS  # under the length cap, yet seconds to parse
    outcome = []
    assert runner.wait_idle()

    def run():
        started = time.monotonic()
        try:
            runner.select(bomb)
            outcome.append(("answered", time.monotonic() - started))
        except QueryTimeout:
            outcome.append(("timeout", time.monotonic() - started))

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert runner.select("ASK { }").boolean is True
    assert time.monotonic() - started < 1.0
    thread.join(TIMEOUT + 10)
    assert outcome and outcome[0][0] == "timeout" and outcome[0][1] < TIMEOUT + 3


def test_overlong_query_is_refused_before_parsing(runner):
    text = "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } " + "FILTER(true) " * 5000 + "}"
    started = time.monotonic()
    with pytest.raises(UnsafeQuery, match="characters, over"):
        runner.select(text)
    assert time.monotonic() - started < 0.5


def test_memory_hog_dies_alone(store_path):
    doubling = "".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1}) " for i in range(34))
    query = f'SELECT (STRLEN(?a34) AS ?n) WHERE {{ BIND("{"x" * 100}" AS ?a0) {doubling} }}'
    with QueryRunner(store_path, timeout=20, workers=1, memory_limit=768 << 20) as r:
        with pytest.raises(QueryError) as info:
            r.select(query)
        assert "memory" in str(info.value)
        assert r.select("ASK { }").boolean is True


def test_memory_limit_counts_from_the_opened_store(store_path):
    # Opening the store maps several hundred MB (RocksDB's threads, their stacks and arenas),
    # more on a machine with more cores; a limit counted from zero killed the worker there.
    with QueryRunner(store_path, timeout=20, workers=1, memory_limit=256 << 20) as r:
        assert r.select("ASK { GRAPH ?g { ?s ?p ?o } }").boolean is True


def test_busy_pool_refuses_after_the_time_limit(store_path):
    with QueryRunner(store_path, timeout=0.5, workers=1) as r:
        errors = []
        hog = threading.Thread(target=lambda: errors.append(
            pytest.raises(QueryTimeout, r._call, {"op": "sleep", "seconds": 30})))
        hog.start()
        time.sleep(0.1)
        with pytest.raises(WorkersBusy, match="busy"):
            r.select("ASK { }")
        hog.join(10)
        assert errors
        deadline = time.monotonic() + 30
        while True:
            try:
                assert r.select("ASK { }").boolean is True
                break
            except WorkersBusy:
                assert time.monotonic() < deadline


def test_close_stops_every_worker(store_path):
    r = QueryRunner(store_path, timeout=2, workers=2)
    pids = r.worker_pids
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    r.close()
    time.sleep(0.2)
    assert not any(_alive(p) for p in pids)
    with pytest.raises(QueryError, match="closed"):
        r.select("ASK { }")


def test_missing_store_is_a_clear_error(tmp_path):
    from kg.errors import StoreError

    with pytest.raises(StoreError, match="no store"):
        QueryRunner(tmp_path / "nothing")


# --- result cap and terms -----------------------------------------------------------------------

def test_results_are_capped(runner):
    result = runner.select("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert len(result.rows) == 50 and result.truncated
    triples = runner.select("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", raw=True)
    assert triples.kind == "triples" and len(triples.rows) == 50 and triples.truncated
    small = runner.select("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 5")
    assert len(small.rows) == 5 and not small.truncated


TERMS = [
    URIRef("https://w3id.org/newskg/id/actor/x"),
    Literal("plain"),
    Literal("ünïcödé \"quoted\"\nnew line\ttab"),
    Literal("chat", lang="fr"),
    Literal("2018-06-12", datatype=URIRef(XSD + "date")),
    Literal("42", datatype=URIRef(XSD + "integer")),
    Literal("x", datatype=URIRef("http://example.org/custom")),
    BNode("b0"),
]


@pytest.mark.parametrize("term", TERMS, ids=repr)
def test_terms_round_trip_through_the_pickling_format(term):
    encoded = encode_term(term)
    assert isinstance(encoded, tuple) and encoded[0] in ("uri", "literal", "bnode")
    assert pickle.loads(pickle.dumps(encoded)) == encoded
    back = decode_term(encoded)
    assert back == term and type(back) is type(term)
    if isinstance(term, Literal):
        assert back.language == term.language and back.datatype == term.datatype
    assert encode_term(decode_ox(encoded)) == encoded


def test_plain_literals_stay_plain_across_engines():
    assert encode_term(ox.Literal("x")) == ("literal", "x", None, None)
    typed_string = Literal("x", datatype=URIRef(XSD + "string"))
    assert encode_term(typed_string) == ("literal", "x", None, None)
    assert encode_term(ox.Literal("x", language="en")) == ("literal", "x", None, "en")
    assert encode_term(None) is None and decode_term(None) is None


@pytest.mark.parametrize("term", [t for t in TERMS if not isinstance(t, BNode)], ids=repr)
def test_terms_round_trip_through_a_worker(runner, term):
    result = runner.select("SELECT ?v WHERE { }", substitutions={"v": term})
    assert result.rows == [{"v": term}]


def test_hostile_value_is_a_plain_value(runner):
    hostile = 'x" } UNION { GRAPH ?g { ?s ?p ?o } } #'
    result = runner.select("SELECT ?s ?name WHERE { GRAPH ?g { ?s rdfs:label ?name } }",
                           substitutions={"name": Literal(hostile)})
    assert result.rows == [] and not result.truncated
    echoed = runner.select("SELECT ?v WHERE { }", substitutions={"v": Literal(hostile)})
    assert echoed.rows == [{"v": Literal(hostile)}]


def test_named_queries_run_in_workers(runner):
    from kg.query import load_queries

    queries = load_queries()
    free = [q for q in queries.values() if all(p.optional for p in q.params)]
    assert free, "no named query without required parameters"
    result = runner.named(free[0].name)
    assert result.boolean is not None or result.vars
    with pytest.raises(ParameterError):
        runner.named(free[0].name, {"no_such_parameter": "1"})
    with_actor = [q for q in queries.values()
                  if any(p.kind in ("actor", "entity") for p in q.params)]
    if with_actor:
        q = with_actor[0]
        param = next(p for p in q.params if p.kind in ("actor", "entity"))
        with pytest.raises(UnknownEntity):
            runner.named(q.name, {param.name: 'x" } UNION { ?s ?p ?o } #'})
    with pytest.raises(QueryError, match="no query named"):
        runner.named("no_such_query")


# --- check_query --------------------------------------------------------------------------------

def _unsafe_queries(canary_iri: str = "http://127.0.0.1:9/sparql") -> list[str]:
    c = canary_iri
    return [
        f"SELECT * WHERE {{ SERVICE <{c}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service <{c}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SeRvIcE SILENT <{c}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?x ?y ?z OPTIONAL {{ SERVICE <{c}> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ {{ ?x ?y ?z }} UNION {{ SERVICE <{c}> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{c}> {{ ?s ?p ?o }} }} }} }}",
        f"SELECT * WHERE {{ ?x ?y ?z FILTER EXISTS {{ SERVICE <{c}> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ ?x ?y ?z MINUS {{ SERVICE <{c}> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ GRAPH ?g {{ SERVICE <{c}> {{ ?s ?p ?o }} }} }}",
        f"ASK {{ SERVICE <{c}> {{ ?s ?p ?o }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{c}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE # a comment\n <{c}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{\tSERVICE\r\n\t<{c}>\n{{?s ?p ?o}}}}",
        f"# SERVICE only in a comment here\nSELECT * WHERE {{\nSERVICE <{c}> {{ ?s ?p ?o }} }}",
        f"PREFIX ex: <{c}#>\nSELECT * WHERE {{ SERVICE ex:x {{ ?s ?p ?o }} }}",
        "SELECT * WHERE { BIND(<http://127.0.0.1:9/> AS ?e) SERVICE ?e { ?s ?p ?o } }",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ {{ ?a ?b ?c }} UNION {{ OPTIONAL {{ "
        f"SERVICE <{c}> {{ ?s ?p ?o }} }} }} }} }} }}",
        # updates, including the ones that read URLs and files
        f"LOAD <{c}>",
        "LOAD <file:///etc/passwd>",
        "LOAD SILENT <file:///etc/passwd> INTO GRAPH <http://x/g>",
        "INSERT DATA { <http://x/s> <http://x/p> <http://x/o> }",
        "insert data { graph <http://x/g> { <http://x/s> <http://x/p> 1 } }",
        "DELETE DATA { <http://x/s> <http://x/p> <http://x/o> }",
        "DELETE WHERE { GRAPH ?g { ?s ?p ?o } }",
        "INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
        "WITH <http://x/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "DROP ALL",
        "DROP SILENT GRAPH <https://w3id.org/newskg/id/graph/entities>",
        "drop default",
        "CLEAR ALL",
        "CLEAR GRAPH <https://w3id.org/newskg/id/graph/entities>",
        "CREATE GRAPH <http://x/g>",
        "COPY DEFAULT TO <http://x/g>",
        "MOVE <http://x/a> TO <http://x/b>",
        "ADD <http://x/a> TO <http://x/b>",
        "CLEAR DEFAULT ; LOAD <file:///etc/passwd>",
        "PREFIX ex: <http://x/>\n# comment\nINSERT DATA { ex:s ex:p ex:o }",
        # datasets outside the store
        "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
        "SELECT * FROM NAMED <file:///etc/passwd> WHERE { GRAPH ?g { ?s ?p ?o } }",
        f"SELECT * FROM <{c}> WHERE {{ ?s ?p ?o }}",
        "ASK FROM <http://example.org/not-in-the-store> { ?s ?p ?o }",
        "CONSTRUCT { ?s ?p ?o } FROM NAMED <https://evil.example/g> WHERE { ?s ?p ?o }",
    ]


@pytest.mark.parametrize("query", _unsafe_queries())
def test_unsafe_queries_are_refused(runner, query):
    with pytest.raises(UnsafeQuery):
        check_query(query, graphs=runner.graphs)
    with pytest.raises(UnsafeQuery):
        runner.select(query)


def test_service_never_reaches_the_canary(runner, canary):
    for query in _unsafe_queries(canary.iri):
        with pytest.raises(UnsafeQuery):
            runner.select(query)
    assert canary.hits == []


def test_workers_have_no_network_even_past_the_check(runner, canary):
    if not runner.network_isolated:
        pytest.skip("network namespaces are not available here")
    # straight to a worker, skipping check_query: the engine tries, and cannot connect
    with pytest.raises(QueryError):
        runner._call({"op": "sparql", "check": False,
                      "text": f"SELECT * WHERE {{ SERVICE <{canary.iri}> {{ ?s ?p ?o }} }}"})
    assert canary.hits == []


def test_from_a_graph_of_the_store_is_allowed(runner):
    entities = "https://w3id.org/newskg/id/graph/entities"
    assert entities in runner.graphs
    result = runner.select(f"SELECT (COUNT(*) AS ?n) FROM <{entities}> WHERE {{ ?s ?p ?o }}")
    assert int(result.rows[0]["n"]) > 0
    named = runner.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
                          named_graphs=[entities])
    assert 0 < int(named.rows[0]["n"]) < int(runner.select(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }").rows[0]["n"])
    with pytest.raises(UnsafeQuery):
        runner.select("SELECT * WHERE { ?s ?p ?o }", default_graph=["file:///etc/passwd"])
    with pytest.raises(UnsafeQuery):
        runner.select("SELECT * WHERE { ?s ?p ?o }", named_graphs=["http://x/not-here"])


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1",
    "# SERVICE <http://x/> in a comment\nSELECT * WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1",
    'SELECT * WHERE { GRAPH ?g { ?s ?p "SERVICE <http://x/> { }" } }',
    "SELECT ?service WHERE { GRAPH ?g { ?service ?p ?o } } LIMIT 1",
    "ASK { GRAPH ?g { ?s a kg:Meeting } }",
    "DESCRIBE <https://w3id.org/newskg/id/actor/donald-trump>",
])
def test_safe_queries_pass(runner, query):
    check_query(query, graphs=runner.graphs)
    runner.select(query)


def test_syntax_errors_and_oversized_text(runner):
    with pytest.raises(QueryError, match="syntax") as info:
        runner.select("SELECT * WHERE { ?s ?p }}")
    assert not isinstance(info.value, UnsafeQuery)
    with pytest.raises(QueryError, match="empty"):
        runner.select("   ")
    with pytest.raises(UnsafeQuery, match="characters"):
        runner.select("SELECT * WHERE { ?s ?p ?o } #" + "x" * 200_000)


def test_a_worker_renews_its_store_after_a_long_job_keeping_what_it_read(store_path, tmp_path):
    """A store object that served a long question answers later ones more slowly (RocksDB's
    state in it): a worker opens the store again after one, carrying the named graphs and the
    name index it read, unless the store changed meanwhile."""
    import shutil

    from kg import query as Q
    from kg import worker as W
    from kg.store import Store

    store = Store(store_path, read_only=True)
    graphs, index = W._store_graphs(store), Q._index(store)
    renewed = W._renewed(store)
    assert renewed is not store and renewed.stamp == store.stamp
    assert W._store_graphs(renewed) is graphs and Q._index(renewed) is index

    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    held = Store(copy, read_only=True)
    writer = Store(copy)
    node = ox.NamedNode("https://example.org/x")
    writer.raw.add(ox.Quad(node, node, ox.Literal("o"), node))
    writer.flush()
    del writer
    assert W._renewed(held) is held  # changed: the runner replaces the worker instead


def test_workers_answer_after_renewing_their_store(runner):
    runner._call({"op": "sleep", "seconds": 1.1})  # past RENEW_AFTER: the worker renews
    assert int(runner.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?c a kg:Claim } }")
               .rows[0]["n"]) == 141


def test_a_workers_renewal_is_not_taken_for_a_change_of_the_store(store_path):
    """Opening the store again leaves its files as they were: the runner, which replaces its
    workers when the files change, keeps the same ones."""
    with QueryRunner(store_path, timeout=5, workers=1, follow_every=0.1) as r:
        r.select("ASK {}")
        pids = r.worker_pids
        r._call({"op": "sleep", "seconds": 1.1})  # past RENEW_AFTER: the worker renews
        for _ in range(5):
            time.sleep(0.15)
            r.select("ASK {}")
        assert r.worker_pids == pids and r._epoch == 0
