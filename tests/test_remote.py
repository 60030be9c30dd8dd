"""The remote store (``kg.remote``) against a real Virtuoso that these tests start themselves.

A private ``virtuoso-t`` (``tests/virtuoso.py``) runs for the session on free loopback ports. The
seed graph is pushed to it through SPARQL Update (``/sparql-auth``, digest authentication) and
through the Graph Store HTTP Protocol, and every named query must answer there what it answers on
the embedded store. Virtuoso missing is a failure, not a skip: ``bash tests/system-deps.sh``.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Literal, URIRef

from kg import iris
from kg.derive import FACTS_VERSION, remove_article
from kg.errors import ParameterError, QueryError, StaleStore, StoreError, UnknownEntity
from kg.query import PREFIXES, _bind, _execute, _parse_header, load_queries, run_named
from kg.remote import (PushReport, RemoteError, RemoteStore, bind_values, label_store, push,
                       remote_version, run_named_remote)
from kg.store import Store
from kg.vocab import ID, KG, PROV

sys.path.insert(0, str(Path(__file__).resolve().parent))
from samples import SAMPLES, as_multiset, concat_fields, mode_params, modes, norm  # noqa: E402
from virtuoso import Virtuoso, VirtuosoMissing  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
XSD = "http://www.w3.org/2001/XMLSchema#"
TIMINGS: dict[str, float] = {}

# Constructs of the named queries that Virtuoso 7.2 gets wrong; each entry is an expected failure
# (strict: once the query is rewritten, the test passes and the entry must go).
_SQ074 = ("Virtuoso 7.2 cannot compile EXISTS inside || inside COALESCE "
          "(COALESCE(... || EXISTS {...}, true)): Error SQ074")
_UNBOUND_EQ = ("Virtuoso 7.2 evaluates ?x = $p with $p unbound as false, not as an error, so "
               "FILTER(COALESCE(?x = $p, true)) drops every row when the optional parameter is "
               "left out; FILTER(!BOUND($p) || ?x = $p) works on both engines")
_EXISTS_BIND = ("; also FILTER(... EXISTS {...}) in a group holding a BIND drops rows on "
                "Virtuoso 7.2")
_CONCAT = ("; also Virtuoso 7.2 makes CONCAT(unbound, ...) a string, not an error, and garbles a "
           "stored non-ASCII string concatenated with the non-ASCII constant \\u201c")
VIRTUOSO_FAILS: dict[tuple[str, str], str] = {}


def _cases():
    out = []
    for name, query in sorted(load_queries().items()):
        for mode in modes(query):
            reason = VIRTUOSO_FAILS.get((name, mode))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(name, mode, id=f"{name}-{mode}", marks=marks))
    return out


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def virtuoso():
    """A private Virtuoso, started once for the session and removed at its end."""
    try:
        server = Virtuoso()             # its own scratch directory, removed by stop()
    except VirtuosoMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    server.start(timeout=60)
    TIMINGS["virtuoso start"] = server.start_seconds
    try:
        yield server
    finally:
        server.stop()
        print("\nremote timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in TIMINGS.items()))


@pytest.fixture(scope="session")
def seed(tmp_path_factory):
    """The seed graph, built once (without SHACL validation), in an embedded store."""
    from kg.pipeline import build

    out = tmp_path_factory.mktemp("remote-build")
    build(DATA, out, validate=False)
    return Store(out / "store", read_only=True)


@pytest.fixture(scope="session")
def remote(virtuoso):
    """The Virtuoso through SPARQL query + update (digest authentication)."""
    return RemoteStore(virtuoso.sparql_url, virtuoso.auth_url, user=virtuoso.user,
                       password=virtuoso.password, timeout=60)


@pytest.fixture(scope="session")
def gsp_remote(virtuoso):
    """The same Virtuoso, writing through the Graph Store HTTP Protocol."""
    return RemoteStore(virtuoso.sparql_url, virtuoso.auth_url, virtuoso.gsp_url,
                       user=virtuoso.user, password=virtuoso.password, timeout=60)


@pytest.fixture(scope="session")
def system_graphs(remote):
    """The graphs Virtuoso has of its own before anything is pushed."""
    return remote.graphs()


@pytest.fixture(scope="session")
def pushed(remote, seed, system_graphs):
    """The seed graph pushed once; tests that change the remote push it back before leaving."""
    t0 = time.monotonic()
    report = push(seed, remote)
    TIMINGS["push (SPARQL Update)"] = time.monotonic() - t0
    return report


# --- helpers ------------------------------------------------------------------------------------

def local_graphs(store: Store) -> set[str]:
    return {g.value for g in store.raw.named_graphs() if isinstance(g, ox.NamedNode)}


def remote_quads(remote: RemoteStore, graphs) -> Counter:
    """Every quad in ``graphs`` on the remote, normalized."""
    values = " ".join(f"<{g}>" for g in sorted(graphs))
    rows = remote.select(f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?g {{ {values} }} "
                         f"GRAPH ?g {{ ?s ?p ?o }} }}").rows
    return Counter(tuple(norm(r[k]) for k in ("s", "p", "o", "g")) for r in rows)


def local_quads(store: Store, graphs) -> Counter:
    out = Counter()
    for g in graphs:
        for s, p, o, gg in store.quads(URIRef(g)):
            out[tuple(norm(t) for t in (s, p, o, gg))] += 1
    return out


# --- the server ---------------------------------------------------------------------------------

def test_missing_virtuoso_says_how_to_install(monkeypatch):
    import virtuoso as helper

    monkeypatch.setattr(helper.shutil, "which", lambda name: None)
    monkeypatch.setattr(helper.os, "access", lambda path, mode: False)
    with pytest.raises(VirtuosoMissing, match="bash tests/system-deps.sh"):
        Virtuoso()


def test_virtuoso_answers(virtuoso, remote):
    assert remote.ask("ASK { }") is True
    assert virtuoso.proc is not None and virtuoso.proc.poll() is None
    assert (virtuoso.root / "virtuoso.db").exists()
    assert TIMINGS["virtuoso start"] < 60


# --- push ---------------------------------------------------------------------------------------

def test_push_whole_graph(remote, seed, pushed, system_graphs):
    assert isinstance(pushed, PushReport)
    assert pushed.graphs == len(local_graphs(seed)) and pushed.triples == len(seed)
    assert pushed.requests > 1                      # batched
    sizes = {g: n for g, n in remote.graph_sizes().items() if g not in system_graphs}
    assert set(sizes) == local_graphs(seed)
    assert sum(sizes.values()) == len(seed)        # every graph but Virtuoso's own
    ours = set(sizes)
    assert remote.count(ours) == len(seed)
    assert remote.count(prefix=str(ID)) == len(seed)
    # the same terms came back: escapes, language tags, dates, integers, booleans
    assert remote_quads(remote, ours) == local_quads(seed, ours)


def test_push_twice_is_idempotent(remote, seed, pushed, system_graphs):
    again = push(seed, remote)
    assert (again.graphs, again.triples, again.dropped) == (pushed.graphs, pushed.triples, 0)
    assert remote.graphs() - system_graphs == local_graphs(seed)
    assert remote.count(prefix=str(ID)) == len(seed)


def test_push_through_graph_store_protocol(gsp_remote, remote, seed, pushed, system_graphs):
    t0 = time.monotonic()
    report = push(seed, gsp_remote)
    TIMINGS["push (Graph Store PUT)"] = time.monotonic() - t0
    assert (report.graphs, report.triples) == (len(local_graphs(seed)), len(seed))
    assert report.requests == report.graphs         # one PUT per graph
    push(seed, gsp_remote)
    assert remote.graphs() - system_graphs == local_graphs(seed)
    assert remote.count(prefix=str(ID)) == len(seed)
    ours = local_graphs(seed)
    assert remote_quads(remote, ours) == local_quads(seed, ours)


@pytest.mark.parametrize("via", ["update", "gsp"])
def test_push_one_article_replaces_only_its_graphs(via, remote, gsp_remote, seed, pushed):
    target = gsp_remote if via == "gsp" else remote
    stem = "003_ab256062c44c36be"
    other = "000_8613253b72fdd089"
    mine = [str(g) for g in seed.graphs_of_article(stem)]
    theirs = [str(g) for g in seed.graphs_of_article(other)]
    claim_graphs = [g for g in mine if "/claim/" in g]
    assert len(claim_graphs) > 2

    # the local article changes: one claim is gone, another claim graph gets an extra triple
    local = Store()
    local.raw.extend(seed.raw.quads_for_pattern(None, None, None, None))
    gone, changed = claim_graphs[0], claim_graphs[1]
    local.raw.update(f"DROP GRAPH <{gone}>")
    extra = ("<https://w3id.org/newskg/id/test/s> <https://w3id.org/newskg/id/test/p> "
             "\"new \\\"quoted\\\" value\"@en")
    local.raw.update(f"INSERT DATA {{ GRAPH <{changed}> {{ {extra} }} }}")
    # ...and on the remote, another article's graph carries a marker that must survive
    marker = "<https://w3id.org/newskg/id/test/marker> <https://w3id.org/newskg/id/test/p> 1"
    remote.update(f"INSERT DATA {{ GRAPH <{theirs[1]}> {{ {marker} }} }}")
    before_other = remote.count(theirs)
    try:
        report = push(local, target, article=stem)
        kept = [g for g in mine if g != gone]
        assert report.graphs == len(kept) and report.dropped == 1
        assert report.triples == sum(1 for g in kept for _ in local.quads(URIRef(g)))
        assert report.facts > 0  # the fact nodes of the article's triples went along
        assert remote_quads(remote, [str(iris.FACTS_GRAPH)]) == \
            local_quads(local, [str(iris.FACTS_GRAPH)])
        assert remote.count([gone]) == 0
        assert remote_quads(remote, kept) == local_quads(local, kept)
        assert remote.count(theirs) == before_other       # the other article is untouched
        assert remote.ask(f"ASK {{ GRAPH <{theirs[1]}> {{ {marker} }} }}")
        assert remote.count(prefix=str(ID)) == len(local) + 1
    finally:
        push(seed, remote)
    assert remote.count(prefix=str(ID)) == len(seed)


def test_push_of_an_article_gone_locally_removes_it(remote, seed, pushed):
    stem = "004_eeebe7db95067d8f"
    local = Store()
    local.raw.extend(seed.raw.quads_for_pattern(None, None, None, None))
    graphs = seed.graphs_of_article(stem)
    remove_article(local, stem)
    try:
        report = push(local, remote, article=stem)
        assert report.graphs == 0 and report.dropped == len(graphs)
        assert remote.count(graphs) == 0
        assert remote.count(prefix=str(ID)) == len(local)
        # its facts and its actors' claim counts went down there as here
        assert remote_quads(remote, [str(iris.FACTS_GRAPH)]) == \
            local_quads(local, [str(iris.FACTS_GRAPH)])
    finally:
        push(seed, remote)


def test_a_remote_counted_by_an_older_kg_is_refused_until_pushed_whole(virtuoso, remote, seed,
                                                                        pushed):
    """What an older kg pushed (claims, facts without the version marker or the actors'
    counts) would answer with 0 claims per actor, and an article pushed into it would mix two
    sets of rules: both stop, naming the endpoint, until the whole graph is pushed again."""
    facts = ox.NamedNode(str(iris.FACTS_GRAPH))
    assert remote_version(remote) == FACTS_VERSION
    remote.update(f"DELETE WHERE {{ GRAPH {facts} {{ {facts} ?p ?o }} }} ; "
                  f"DELETE WHERE {{ GRAPH {facts} {{ ?a <{KG.claimCount}> ?n }} }}")
    fresh = RemoteStore(virtuoso.sparql_url, virtuoso.auth_url, user=virtuoso.user,
                        password=virtuoso.password, timeout=60)  # checks again
    try:
        assert remote_version(fresh) == 1
        with pytest.raises(StaleStore, match=r"older kg \(version 1.*`kg push` without") as caught:
            run_named_remote(fresh, "actors", local_store=seed)
        assert caught.value.file == virtuoso.sparql_url
        with pytest.raises(StaleStore):
            push(seed, fresh, article="003_ab256062c44c36be")
    finally:
        push(seed, remote)
    assert remote_version(fresh) == FACTS_VERSION
    assert run_named_remote(fresh, "actors", local_store=seed).rows


def test_the_first_article_pushed_to_an_empty_remote_marks_its_facts(remote, seed, pushed):
    stem = "003_ab256062c44c36be"
    try:
        remote.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in sorted(remote.graphs(
            prefix=str(ID)))))
        assert remote_version(remote) is None
        push(seed, remote, article=stem)
        assert remote_version(remote) == FACTS_VERSION
    finally:
        push(seed, remote)


def test_push_keeps_graphs_of_others(remote, seed, pushed):
    foreign = "http://example.org/not-ours/g"
    remote.update(f"INSERT DATA {{ GRAPH <{foreign}> {{ <http://example.org/a> "
                  f"<http://example.org/b> \"c\" }} }}")
    try:
        push(seed, remote)
        assert remote.count([foreign]) == 1
    finally:
        remote.update(f"DROP SILENT GRAPH <{foreign}>")


# --- terms and query forms ----------------------------------------------------------------------

def test_terms_round_trip(remote, pushed):
    graph = "http://example.org/kg-test/terms"
    store = Store()
    g = URIRef(graph)
    s, p = URIRef("http://example.org/kg-test/s"), URIRef("http://example.org/kg-test/p")
    values = [
        Literal('quote " backslash \\ newline \n tab \t } UNION { # not a comment'),
        Literal("astral \U0001F600 and accents \u00e9\u00e8"), Literal("hi", lang="en-GB"),
        Literal("2018-06-01", datatype=URIRef(XSD + "date")),
        Literal("42", datatype=URIRef(XSD + "integer")),
        Literal("true", datatype=URIRef(XSD + "boolean")),
        Literal("typed", datatype=URIRef(XSD + "string")),
        URIRef("http://example.org/kg-test/o#frag"),
    ]
    store.add((s, p, o, g) for o in values)
    report = push(store, remote, prune=False)
    try:
        assert (report.graphs, report.triples) == (1, len(values))
        got = {r["o"] for r in remote.select(f"SELECT ?o WHERE {{ GRAPH <{graph}> "
                                             f"{{ ?s ?p ?o }} }}").rows}
        want = {t for _, _, t, _ in store.quads()}
        assert got == want            # booleans come back "true", xsd:string as plain literals
        assert Literal("typed") in got
        triples = remote.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> "
                                   f"{{ ?s ?p ?o }} }}")
        assert {norm(t) for _, _, t in triples} == {norm(t) for t in want}
        assert remote.ask(f'ASK {{ GRAPH <{graph}> {{ ?s ?p "hi"@en-gb }} }}')
        assert not remote.ask(f'ASK {{ GRAPH <{graph}> {{ ?s ?p "absent" }} }}')
        rows = remote.query(f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", limit=3)
        assert len(rows.rows) == 3 and rows.truncated
    finally:
        remote.update(f"DROP SILENT GRAPH <{graph}>")


# --- named queries ------------------------------------------------------------------------------

@pytest.mark.parametrize("name,mode", _cases())
def test_named_query_matches_local(name, mode, remote, seed, pushed):
    query = load_queries()[name]
    if name not in SAMPLES:
        pytest.fail(f"named query {name!r} has no sample parameters: add it to SAMPLES in "
                    f"tests/samples.py", pytrace=False)
    declared = {p.name for p in query.params}
    missing, extra = declared - set(SAMPLES[name]), set(SAMPLES[name]) - declared
    if missing or extra:
        pytest.fail(f"SAMPLES[{name!r}] must give exactly its parameters "
                    f"{sorted(declared)}: missing {sorted(missing)}, unknown {sorted(extra)}",
                    pytrace=False)
    params = mode_params(query, mode)

    local = run_named(seed, name, params)
    if mode == "all":
        assert local.rows, f"the sample parameters of {name} find nothing: pick better ones"
    got = run_named_remote(remote, name, params, local_store=seed)
    assert got.vars == local.vars
    fields = concat_fields(query.text)
    assert as_multiset(got, fields) == as_multiset(local, fields)


@pytest.mark.parametrize("name,params", [("actors", {}), ("corroboration", {}),
                                         ("statements", {}), ("timeline", {"actor": "Pompeo"})])
@pytest.mark.parametrize("sorted_rows", [10_000, 4])
def test_a_page_of_a_remote_answer_is_its_slice(remote, seed, pushed, name, params,
                                                sorted_rows, monkeypatch):
    """Pages asked of the remote (cut there, without Oxigraph's page plans, or by kg when they
    end past the rows the remote would sort) are slices of its whole answer, and hold the same
    rows as the local pages where the order is total."""
    import kg.remote

    monkeypatch.setattr(kg.remote, "MAX_SORTED_ROWS", sorted_rows)
    fields = concat_fields(load_queries()[name].text)
    whole = run_named_remote(remote, name, params, local_store=seed)
    n = len(whole.rows)
    assert n > 4
    for limit, offset in ((3, 0), (3, 2), (5, n - 2), (2, n)):
        page = run_named_remote(remote, name, params, local_store=seed, limit=limit,
                                offset=offset)
        sliced = whole.rows[offset:offset + limit]
        assert as_multiset(page, fields) == as_multiset(type(whole)(whole.vars, sliced), fields)
        assert page.truncated == (offset + limit < n)
    if name == "actors":   # ordered by count, label, IRI: the same rows on both engines
        local = run_named(seed, name, params, limit=4, offset=1)
        got = run_named_remote(remote, name, params, local_store=seed, limit=4, offset=1)
        assert [r["actor"] for r in got.rows] == [r["actor"] for r in local.rows]


def test_names_resolve_through_the_remote_labels(remote, seed, pushed):
    labels = label_store(remote)
    assert len(labels) > 50
    params = {"actor": "Pompeo", "status": "attended"}
    got = run_named_remote(remote, "meetings", params)      # no local store
    local = run_named(seed, "meetings", params)
    fields = concat_fields(load_queries()["meetings"].text)
    assert got.rows and as_multiset(got, fields) == as_multiset(local, fields)
    with pytest.raises(UnknownEntity):
        run_named_remote(remote, "meetings", {"actor": "Nobody At All"})


HOSTILE = 'North Korea" } } ; DROP ALL ; SELECT * WHERE { { ?s ?p "\\" \n# $actor <x> }'


def _probe_query(tmp_path) -> object:
    path = tmp_path / "probe.rq"
    path.write_text(
        "#+ name: probe\n"
        "#+ description: A test query: the label equal to a text, and the text echoed.\n"
        "#+ param: needle text   Any text\n"
        "#+ param: who actor?   An actor\n"
        "SELECT $needle $who ?label (STR($needle) AS ?echo)\n"
        "WHERE {\n"
        "  OPTIONAL { GRAPH ?g { ?a rdfs:label ?label } FILTER(?label = $needle) }\n"
        "}\n", encoding="utf-8")
    return _parse_header(path)


def test_hostile_parameter_is_bound_as_a_value(remote, seed, pushed, tmp_path):
    query = _probe_query(tmp_path)
    before = remote.count(prefix=str(ID))

    got = run_named_remote(remote, query, {"needle": HOSTILE}, local_store=seed)
    assert len(got.rows) == 1
    row = got.rows[0]
    assert str(row["echo"]) == HOSTILE and str(row["needle"]) == HOSTILE
    assert row["label"] is None                    # no label equals that text
    assert remote.count(prefix=str(ID)) == before  # nothing was dropped

    # the same query with a real name matches, as it does locally
    good = run_named_remote(remote, query, {"needle": "North Korea", "who": "Pompeo"},
                            local_store=seed)
    local = _execute(seed, getattr(query, "sparql", PREFIXES + query.text),
                     _bind(seed, query, {"needle": "North Korea", "who": "Pompeo"}))
    assert {str(r["label"]) for r in good.rows} == {"North Korea"}
    assert good.rows[0]["who"] == URIRef(iris.entity("person", "mike-pompeo"))
    assert as_multiset(good, {}) == as_multiset(local, {})

    # names and IRIs are checked before anything is sent
    with pytest.raises(UnknownEntity):
        run_named_remote(remote, "meetings", {"actor": HOSTILE}, local_store=seed)
    with pytest.raises(UnknownEntity):
        run_named_remote(remote, query, {"needle": "x", "who": "http://x> } DROP ALL {"},
                         local_store=seed)
    with pytest.raises(ParameterError):
        run_named_remote(remote, "pledge_status", {"date": '2018-01-01"} ; DROP ALL #'},
                         local_store=seed)
    with pytest.raises(ParameterError):
        run_named_remote(remote, "meetings", {"actor": "Pompeo", "status": "x\" } DROP ALL"},
                         local_store=seed)
    assert remote.count(prefix=str(ID)) == before


# --- binding (no server needed) -----------------------------------------------------------------

def test_bind_values_writes_terms_not_text():
    text = ('SELECT $a ?b WHERE {\n  ?x <http://e/p> "$a { not a brace" . # $a in a comment {\n'
            '  ?x <http://e/q> $a\n}')
    out = bind_values(text, {ox.Variable("a"): ox.Literal('v" } DROP ALL { "')})
    assert out.startswith("SELECT ?a ?b WHERE { VALUES (?a) { (\"v\\\" } DROP ALL { \\\"\") }")
    assert '"$a { not a brace"' in out and "# $a in a comment {" in out
    assert "<http://e/q> ?a" in out
    ox.Store().query(out)                                   # still valid SPARQL


def test_bind_values_skips_construct_template_and_binds_subqueries():
    text = ("CONSTRUCT { ?s <http://e/p> $v } WHERE { { SELECT ?s $v WHERE { ?s ?p $v } } "
            "FILTER(BOUND($v)) }")
    out = bind_values(text, {"v": ox.NamedNode("http://e/o")})
    assert out.startswith("CONSTRUCT { ?s <http://e/p> ?v } WHERE { VALUES (?v) { (<http://e/o>) }")
    assert "SELECT ?s ?v WHERE { VALUES (?v) { (<http://e/o>) }" in out
    ox.Store().query(out)
    # no bindings: only the $ -> ? rewrite
    assert bind_values("SELECT $x { ?s ?p $x }", {}) == "SELECT ?x { ?s ?p ?x }"
    several = bind_values("SELECT $x { ?s ?p $x }",
                          {"x": (ox.NamedNode("http://e/a"), ox.Literal('b" }'))})
    assert several == 'SELECT ?x { VALUES (?x) { (<http://e/a>) ("b\\" }") }\n ?s ?p ?x }'
    assert "VALUES (?x) {  }" in bind_values("SELECT $x { ?s ?p $x }", {"x": ()})
    with pytest.raises(QueryError):
        bind_values("DESCRIBE <http://e/x>", {"v": ox.Literal("1")})


# --- errors -------------------------------------------------------------------------------------

def test_wrong_password_names_url_and_status_not_credentials(virtuoso, pushed):
    secret = "not-the-password-4711"
    bad = RemoteStore(virtuoso.sparql_url, virtuoso.auth_url, user="dba", password=secret)
    with pytest.raises(RemoteError) as err:
        bad.update("INSERT DATA { GRAPH <http://example.org/x> { <http://e/a> <http://e/b> 1 } }")
    message = str(err.value)
    assert err.value.status == 401 and "401" in message
    assert virtuoso.auth_url in message and secret not in message
    assert isinstance(err.value, StoreError)


def test_credentials_in_the_url_are_used_and_never_shown(virtuoso, remote, pushed):
    url = virtuoso.auth_url.replace("http://", f"http://dba:{virtuoso.password}@")
    store = RemoteStore(url, url)
    assert store.query_url == virtuoso.auth_url and "dba:" not in repr(store)
    store.update("DROP SILENT GRAPH <http://example.org/never-there>")
    with pytest.raises(RemoteError) as err:
        store.select("SELECT * WHERE { this is not sparql }")
    assert err.value.status == 400 and "dba:" not in str(err.value)
    assert virtuoso.auth_url in str(err.value)


def test_update_without_credentials_is_refused(virtuoso, pushed):
    anonymous = RemoteStore(virtuoso.sparql_url)
    with pytest.raises(RemoteError) as err:
        anonymous.update("DROP SILENT GRAPH <http://example.org/x>")
    assert err.value.status is not None and err.value.status >= 400
    assert virtuoso.sparql_url in str(err.value)


def test_unreachable_server():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RemoteStore(f"http://u:secret@127.0.0.1:{port}/sparql", timeout=5)
    with pytest.raises(RemoteError) as err:
        store.ask("ASK {}")
    assert "cannot reach" in str(err.value) and "secret" not in str(err.value)
    assert err.value.status is None
    with pytest.raises(RemoteError):
        RemoteStore("ftp://example.org/sparql")


def test_prov_graph_of_article_is_found_remotely(remote, seed, pushed):
    """The remote lookup push() uses to find an article's claim graphs."""
    stem = "000_8613253b72fdd089"
    article = iris.article(stem)
    rows = remote.select(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?g <{PROV.wasDerivedFrom}> "
                         f"<{article}> }} }}").rows
    claims = {str(g) for g in seed.graphs_of_article(stem)} - {str(iris.article_graph(stem))}
    assert {str(r["g"]) for r in rows} == claims


# --- the command line ---------------------------------------------------------------------------

def test_cli_push_and_query_on_the_remote(virtuoso, seed, pushed, tmp_path):
    import os
    import subprocess
    import sys

    store = str(seed.path)
    env = {**os.environ, "KG_REMOTE_PASSWORD": virtuoso.password}
    out = subprocess.run([sys.executable, "-m", "kg.cli", "push", "--endpoint",
                          virtuoso.sparql_url, "--update-url", virtuoso.auth_url, "--user",
                          virtuoso.user, "--store", store], capture_output=True, text=True,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"pushed {len(local_graphs(seed))} graphs")
    remote_out = subprocess.run([sys.executable, "-m", "kg.cli", "query", "noshows", "--endpoint",
                                 virtuoso.sparql_url, "--store", store, "--format", "csv"],
                                capture_output=True, text=True)
    local_out = subprocess.run([sys.executable, "-m", "kg.cli", "query", "noshows", "--store",
                                store, "--format", "csv"], capture_output=True, text=True)
    assert remote_out.returncode == 0, remote_out.stderr
    assert "north-korea" in remote_out.stdout
    assert sorted(remote_out.stdout.splitlines()[1:]) != [] and \
        {line.split(",")[2] for line in remote_out.stdout.splitlines()[1:]} == \
        {line.split(",")[2] for line in local_out.stdout.splitlines()[1:]}
    bad = subprocess.run([sys.executable, "-m", "kg.cli", "push", "--endpoint",
                          virtuoso.sparql_url, "--update-url", virtuoso.auth_url, "--user",
                          virtuoso.user, "--store", store], capture_output=True, text=True,
                         env={**os.environ, "KG_REMOTE_PASSWORD": "wrong"})
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "wrong" not in bad.stderr
