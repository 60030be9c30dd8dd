"""Issue 3: every named question, answered on the seed graph, with its evidence."""

from __future__ import annotations

import json
import subprocess
import sys

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.errors import AmbiguousEntity, ParameterError, QueryError, UnknownEntity, UnsafeQuery
from kg.query import (_NameIndex, claims_of, evidence, load_queries, resolve_name, run_named,
                      run_sparql)

from .conftest import DATA


def tail(term) -> str:
    return str(term).rsplit("/", 1)[-1] if term is not None else None


def rows(store, query_name, **params):
    return run_named(store, query_name, params).rows


# Each named query's expected answer on the seed graph; test_every_query_has_a_test checks
# that a new .rq file cannot land without an entry here.
def check_meetings(store):
    got = {(tail(r["meeting"]), str(r["attendance"])) for r in rows(store, "meetings",
                                                                     actor="North Korea")}
    assert {("dmz-remains-talks", "absent"), ("dmz-remains-talks", "expected"),
            ("pompeo-pyongyang-talks", "attended"), ("singapore-planning-meeting", "absent"),
            ("hanoi-summit", "attended")} == got
    dmz = next(r for r in rows(store, "meetings", actor="Pompeo"))
    assert dmz is not None
    absent = rows(store, "meetings", actor="North Korea", status="absent")
    assert {tail(r["meeting"]) for r in absent} == {"dmz-remains-talks",
                                                   "singapore-planning-meeting"}
    dmz = next(r for r in absent if tail(r["meeting"]) == "dmz-remains-talks")
    assert (str(dmz["earliest"]), str(dmz["latest"])) == ("2018-07-12", "2018-07-12")
    assert "Joint Security Area" in str(dmz["places"])
    assert "United Nations Command (attended)" in str(dmz["others"])


def check_met(store):
    pairs = {(tail(r["a"]), tail(r["b"]), tail(r["meeting"])) for r in rows(store, "met")}
    assert ("donald-trump", "kim-jong-un", "singapore-summit") in pairs
    assert ("mike-pompeo", "north-korea", "pompeo-pyongyang-talks") in pairs
    assert not any("north-korea" in p and "dmz-remains-talks" in p for p in pairs)
    only = rows(store, "met", actor="Kim Jong Un")
    assert {tail(r["meeting"]) for r in only} == {"singapore-summit"}


def check_noshows(store):
    got = {(tail(r["meeting"]), tail(r["actor"]), str(r["expected"])) for r in
           rows(store, "noshows")}
    assert ("dmz-remains-talks", "north-korea", "true") in got
    assert {m for m, a, _ in got} == {"dmz-remains-talks", "singapore-planning-meeting"}
    one = rows(store, "noshows", meeting="DMZ talks on returning Korean War remains")
    assert [tail(r["actor"]) for r in one] == ["north-korea"]


def check_pledges(store):
    kim = rows(store, "pledges", actor="Kim Jong Un")
    steps = {(tail(r["pledge"]), str(r["step"]), str(r["earliest"])) for r in kim}
    assert ("singapore-repatriation-pledge", "made", "2018-06-12") in steps
    assert ("singapore-repatriation-pledge", "stalled", "2018-07-12") in steps
    assert ("singapore-repatriation-pledge", "partly kept", "2018-01-01") in steps
    rep = next(r for r in kim if tail(r["pledge"]) == "singapore-repatriation-pledge")
    assert "immediate repatriation of those already identified" in str(rep["what"])
    assert str(rep["to"]) == "Donald Trump" and str(rep["madeAt"]) == "Singapore summit"
    recovery = rows(store, "pledges", pledge="singapore-recovery-pledge")
    assert [str(r["step"]) for r in recovery] == ["made", "suspended"]
    assert str(recovery[-1]["earliest"]) == "2019-05-08"


def check_pledge_status(store):
    def status(day):
        return {tail(r["pledge"]): str(r["status"]) for r in rows(store, "pledge_status",
                                                                    date=day)}
    assert status("2018-06-20")["singapore-repatriation-pledge"] == "made"
    assert status("2018-07-12")["singapore-repatriation-pledge"] == "stalled"
    assert status("2019-06-01")["singapore-recovery-pledge"] == "suspended"
    assert "singapore-recovery-pledge" not in status("2018-01-01")


def check_statements(store):
    pompeo = rows(store, "statements", speaker="Pompeo")
    quotes = {str(r["quote"]) for r in pompeo}
    assert "We had a productive conversation" in quotes
    assert {str(r["outlet"]) for r in pompeo} == {"Voice of America", "The Washington Post"}
    about = rows(store, "statements", about="DMZ talks on returning Korean War remains")
    assert {str(r["quote"]) for r in about} >= {"We were ready", "could move by one day or two."}
    critical = [r for r in rows(store, "statements", about="United States")
                if str(r["stance"]) == "critical"]
    assert any(str(r["quote"]) == "gangster-like" for r in critical)


def check_corroboration(store):
    facts = rows(store, "corroboration", subject="dmz-remains-talks")
    absent = [r for r in facts if tail(r["o"]) == "ontology#Absent"]
    assert len(absent) == 1 and int(absent[0]["outlets"]) == 2  # VOA and the Post
    assert int(absent[0]["reports"]) > 2  # VOA reported it twice: counted once
    unaccounted = rows(store, "corroboration", subject="us-unaccounted-korean-war")
    assert max(int(r["outlets"]) for r in unaccounted) == 3
    strong = rows(store, "corroboration", min_outlets="3")
    assert strong and all(int(r["outlets"]) >= 3 for r in strong)


def check_disputes(store):
    got = rows(store, "disputes")
    denials = [r for r in got if str(r["relation"]) == "denies"]
    assert denials and all(str(r["byLabel"]) == "Military officials" for r in denials)
    assert any("have been sent back" in str(r["disputedQuote"]) for r in denials)
    by_pompeo = rows(store, "disputes", by="Pompeo")
    assert by_pompeo and all("regrettable" in str(r["disputedQuote"]) for r in by_pompeo)


def check_figures(store):
    got = rows(store, "figures", measure="us-unaccounted-korean-war")
    assert {(str(r["outlet"]), str(r["value"])) for r in got} == {
        ("Voice of America", "7700"), ("The Washington Post", "7700"), ("CBS News", "7700")}
    boxes = rows(store, "figures", measure="boxes-of-remains-returned")
    assert [(str(r["value"]), str(r["givenBy"])) for r in boxes] == [("55", "North Korea")]


def check_timeline(store):
    remains = rows(store, "timeline", topic="remains-repatriation")
    dates = [str(r["earliest"]) for r in remains]
    assert dates == sorted(dates)
    events = [tail(r["event"]) for r in remains]
    assert "dmz-remains-talks" in events and "pearl-harbor-ceremony" in events
    assert any(str(r["kind"]) == "pledge step" and "suspended" in str(r["what"])
               for r in remains)
    pompeo = rows(store, "timeline", actor="Pompeo")
    assert {"pompeo-pyongyang-talks", "nato-brussels-summit"} <= {tail(r["event"]) for r in pompeo}


def check_offices(store):
    got = {(tail(r["person"]), str(r["title"]), tail(r["organization"]))
           for r in rows(store, "offices")}
    assert ("mike-pompeo", "Secretary of State", "united-states") in got
    assert ("roh-kyu-deok", "spokesman", "sk-foreign-ministry") in got
    assert {str(r["title"]) for r in rows(store, "offices", holder="Pence")} == {"Vice President"}


def check_actors(store):
    kim = rows(store, "actors", name="kim")
    assert [tail(r["actor"]) for r in kim] == ["kim-jong-un"]
    assert str(kim[0]["kind"]) == "person" and str(kim[0]["wikidata"]).endswith("Q56226")
    everyone = rows(store, "actors")
    assert len(everyone) >= 30


def test_actors_by_text_is_every_actor_with_a_name_containing_it(seed_store):
    """The `actors` kind: the name index's matches equal the same test over every actor's
    label and aliases, as the full listing gives them."""
    everyone = rows(seed_store, "actors")
    for text in ("a", "KOREA", "u.s.", "jong", "zzz"):
        want = {r["actor"] for r in everyone
                if text.lower() in str(r["label"]).lower()
                or any(text.lower() in alias.lower()
                       for alias in str(r["aliases"] or "").split(" | ") if alias)}
        got = rows(seed_store, "actors", name=text)
        assert {r["actor"] for r in got} == want, text
        assert [r for r in everyone if r["actor"] in want] == got, text  # same rows, same order
    assert len(rows(seed_store, "actors", name="a")) > 10


@settings(max_examples=200, deadline=None)
@given(names=st.lists(st.tuples(st.text(alphabet="abK \0é", max_size=6), st.sampled_from("xyz"),
                                st.booleans()), max_size=12),
       needle=st.text(alphabet="abk \0É", max_size=3))
def test_name_index_search_is_a_contains_test_on_every_name(names, needle):
    """The index's search (one string searched with str.find) finds what testing every name
    would, for any names and text, separators and empty text included."""
    index = _NameIndex.__new__(_NameIndex)
    index.spelled, index.types, index._by_class = {}, {}, {}
    for name, node, actor in names:
        index.spelled.setdefault(name.lower(), set()).add(node)
        if actor:
            index.types.setdefault(node, set()).add("A")
    for cls in ("A", None):
        want = sorted({e for n, es in index.spelled.items() for e in es
                       if needle.lower() in n and (cls is None or cls in index.types.get(e, ()))})
        assert index.containing(needle, cls) == want


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items() if name.startswith("check_")}


@pytest.mark.parametrize("name", sorted(load_queries()))
def test_named_query(name, seed_store):
    if name.startswith("view_"):
        # the network views' own queries are tested through kg.network (tests/test_network.py)
        result = run_named(seed_store, name, {})
        assert result.rows, f"{name} returns nothing on the seed graph"
        return
    assert name in CHECKS, f"query {name} has no test: add check_{name} here"
    CHECKS[name](seed_store)


def test_every_query_has_a_test_and_declares_exactly_what_it_uses():
    from rdflib.plugins.sparql.parser import parseQuery

    from kg.query import _tokens

    queries = load_queries()
    assert set(CHECKS) <= set(queries)
    for q in queries.values():
        optional = [p.name for p in q.params if p.optional]
        required = {p.name for p in q.params if not p.optional}
        for mask in range(2 ** len(optional)):   # every choice of '#+ if NAME' blocks
            given = required | {n for i, n in enumerate(optional) if mask >> i & 1}
            ox.Store().query(q.sparql_for(given))  # Oxigraph takes LATERAL (SPARQL 1.2)
            portable = q.sparql_for(given, lateral=False)
            assert not [t for k, t in _tokens(portable) if k == "word" and t.upper() == "LATERAL"]
            parseQuery(portable)  # a second, independent SPARQL parser, SPARQL 1.1 only
            ox.Store().query(portable)
        declared = {p.name for p in q.params}
        assert declared == q.used_params, q.name
        assert q.description


@pytest.mark.parametrize("body, problem", [
    ("#+ if actor\n?s ?p ?o\n", "not closed"),
    ("#+ end\n", "without its"),
    ("#+ if actor\n#+ else\n#+ else\n#+ end\n", "without its"),
    ("#+ if colour\n#+ end\n", "names no declared parameter"),
])
def test_a_broken_if_block_names_the_file(tmp_path, body, problem):
    from kg.query import _parse_header

    path = tmp_path / "broken.rq"
    path.write_text("#+ name: broken\n#+ description: d\n#+ param: actor actor?  a\n"
                    "SELECT * WHERE {\n" + body + "}\n")
    with pytest.raises(QueryError, match=problem) as err:
        _parse_header(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("text, problem", [
    ("SELECT * { ?s ?p ?o LATERAL ?x }", "not followed by a group"),
    ("SELECT * { ?s ?p ?o LATERAL { ?o ?q ?r ", "not closed"),
])
def test_a_broken_lateral_is_refused(text, problem):
    from kg.query import without_lateral

    with pytest.raises(QueryError, match=problem):
        without_lateral(text)


def test_without_lateral_splices_groups_and_leaves_strings_alone():
    from rdflib.plugins.sparql.parser import parseQuery

    from kg.query import without_lateral

    text = ('SELECT * { ?s ?p "LATERAL { }" # LATERAL { in a comment\n'
            '  LATERAL { ?s ?q ?o LATERAL { OPTIONAL { ?o ?r ?x } } } }')
    assert without_lateral(text) == ('SELECT * { ?s ?p "LATERAL { }" # LATERAL { in a comment\n'
                                     '  .  ?s ?q ?o .  OPTIONAL { ?o ?r ?x } .  }')
    parseQuery(without_lateral(text))


def test_a_lateral_subquery_keeps_its_braces_and_gets_no_values_of_its_own():
    from rdflib.plugins.sparql.parser import parseQuery

    from kg.query import bind_values, without_lateral

    text = ("SELECT * { ?p a ?t LATERAL { SELECT ?p (COUNT(*) AS ?n) { ?s ?r ?p } GROUP BY ?p }"
            " { SELECT ?p ?q { ?p ?q ?z } } }")
    bound = bind_values(text, {"p": ox.NamedNode("http://example.org/p")})
    # the outer group and the plain subquery are bound; the LATERAL one gets its row's ?p
    assert bound.count("VALUES (?p)") == 2
    assert "LATERAL { SELECT ?p (COUNT(*) AS ?n) { ?s" in bound
    ox.Store().query(bound)
    portable = without_lateral(bound)
    assert ". { SELECT ?p (COUNT(*) AS ?n)" in portable
    parseQuery(portable)


def test_a_link_said_in_two_claims_does_not_repeat_rows(seed_store):
    """A question anchored on a parameter (statements about X, a timeline of X) lists each
    statement or event once per its own claim, however many claims link it to X."""
    from rdflib import URIRef

    from kg.store import Store
    from kg.vocab import KG

    store = Store()
    store.add(seed_store.quads())
    about = [q for q in store.quads() if q[1] == KG.about]
    assert about
    before = {name: sorted(map(repr, rows(store, name, **params))) for name, params in
              [("statements", {"about": str(about[0][2])}), ("timeline", {"topic": str(about[0][2])})]}
    store.add([(s, p, o, URIRef(str(g) + "-said-again")) for s, p, o, g in about])
    for name, want in before.items():
        param = "about" if name == "statements" else "topic"
        assert sorted(map(repr, rows(store, name, **{param: str(about[0][2])}))) == want, name


def test_if_blocks_choose_text_by_presence_only(seed_store):
    from kg.query import named_query

    q = named_query("disputes")
    assert "kg:disputedBy $by" in q.sparql_for({"by"})
    assert "kg:disputedBy $by" not in q.sparql_for(set())
    # the value never enters the text: it is bound as VALUES (same text for any actor)
    hostile = "Kim\" } UNION { ?s ?p ?o"
    with pytest.raises(UnknownEntity):
        run_named(seed_store, "disputes", {"by": hostile})


def test_every_row_can_show_its_evidence(seed_store):
    for name in ("meetings", "noshows", "statements", "figures"):
        params = {"meetings": {"actor": "North Korea"}}.get(name, {})
        result = run_named(seed_store, name, params)
        for row in result.rows:
            cited = claims_of(row)
            assert cited, (name, row)
            ev = evidence(seed_store, cited)
            assert set(ev) == set(cited)
            for item in ev.values():
                stem = item["article"].rsplit("/", 1)[-1]
                text = (DATA / "articles" / f"{stem}.txt").read_text(encoding="utf-8")
                assert text[item["start"]:item["end"]] == item["quote"]


def test_evidence_in_batches_is_evidence_claim_by_claim(seed_store, monkeypatch):
    import kg.query

    claims = sorted({c for row in run_named(seed_store, "statements").rows
                     for c in claims_of(row)})
    assert len(claims) > 5
    one_by_one = {}
    for claim in claims:
        one_by_one.update(evidence(seed_store, [claim]))
    monkeypatch.setattr(kg.query, "_EVIDENCE_BATCH", 2)
    assert evidence(seed_store, claims) == one_by_one
    assert set(one_by_one) == set(claims)
    with pytest.raises(QueryError, match="evidence: not a claim IRI"):
        evidence(seed_store, ["not an iri> } DROP ALL"])


def test_names_are_resolved_or_refused_with_candidates(seed_store):
    assert resolve_name(seed_store, "the U.S. top diplomat", "actor").value.endswith("mike-pompeo")
    assert resolve_name(seed_store, "Pyongyang", "actor").value.endswith("north-korea")
    with pytest.raises(AmbiguousEntity) as err:
        resolve_name(seed_store, "Pyongyang", "entity")
    assert len(err.value.candidates) == 2
    with pytest.raises(UnknownEntity, match="candidates: .*Kim Jong Un"):
        resolve_name(seed_store, "Kim Jong", "actor")


@pytest.mark.parametrize("value", [
    'North Korea" } UNION { ?s ?p ?o } #',
    "x> } ; DROP ALL ; SELECT * { <y",
    "} ; DROP GRAPH <https://w3id.org/newskg/id/graph/entities>",
    "'; DELETE WHERE { ?s ?p ?o } #",
])
def test_parameter_values_are_values_not_syntax(seed_store, value):
    size = len(seed_store)
    with pytest.raises(UnknownEntity):
        run_named(seed_store, "meetings", {"actor": value})
    got = run_named(seed_store, "actors", {"name": value})  # a text parameter: bound literal
    assert got.rows == []
    assert len(seed_store) == size


def test_parameter_errors_are_clear(seed_store):
    with pytest.raises(ParameterError, match="missing parameter 'actor'"):
        run_named(seed_store, "meetings", {})
    with pytest.raises(ParameterError, match="unknown parameter"):
        run_named(seed_store, "meetings", {"actor": "Pompeo", "colour": "red"})
    with pytest.raises(ParameterError, match="YYYY-MM-DD"):
        run_named(seed_store, "pledge_status", {"date": "12 July"})
    with pytest.raises(QueryError, match="no query named"):
        run_named(seed_store, "nonesuch", {})


def test_free_sparql_is_read_only(seed_store):
    assert run_sparql(seed_store, "ASK { GRAPH ?g { ?s a kg:Claim } }").boolean is True
    for text in ("INSERT DATA { <a:b> <a:c> <a:d> }", "LOAD <file:///etc/passwd>",
                 "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
                 "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }"):
        with pytest.raises(UnsafeQuery):
            run_sparql(seed_store, text)
    with pytest.raises(QueryError, match="syntax"):
        run_sparql(seed_store, "SELECT WHERE {")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True,
                          text=True)


def test_cli_query_formats_and_evidence(build_dir):
    store = ["--store", str(build_dir / "store")]
    out = run_cli("query", "noshows", "--format", "json", "--evidence", *store)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert "evidence_quote" in doc["head"]["vars"]
    quotes = {b["evidence_quote"]["value"] for b in doc["results"]["bindings"]}
    assert "North Korea a No-Show for Talks With US on Korean War Dead" in quotes
    csv_out = run_cli("query", "meetings", "-p", "actor=Kim Jong Un", "--format", "csv", *store)
    assert csv_out.returncode == 0 and csv_out.stdout.startswith("actor,meeting,")
    table = run_cli("query", "figures", "--evidence", *store)
    assert "↳ CBS News, 2019-05-08" in table.stdout
    listing = run_cli("query", "--list")
    for name in load_queries():
        assert name in listing.stdout


def test_cli_errors_are_one_line(build_dir):
    store = ["--store", str(build_dir / "store")]
    out = run_cli("query", "meetings", "-p", "actor=Pyongyang City Hall", *store)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "no actor is called 'Pyongyang City Hall'" in out.stderr
    out = run_cli("sparql", "SELECT * WHERE { ?s ?p }", *store)
    assert out.returncode == 1 and "syntax error" in out.stderr and "Traceback" not in out.stderr


def test_cli_sparql_reads_a_file(build_dir, tmp_path):
    path = tmp_path / "count.rq"
    path.write_text("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?c a kg:Claim } }")
    out = run_cli("sparql", str(path), "--format", "csv", "--store", str(build_dir / "store"))
    assert out.returncode == 0 and out.stdout.splitlines()[1] == "141"


def test_cli_path_central_and_ego(build_dir):
    store = ["--store", str(build_dir / "store")]
    out = run_cli("path", "Moon Jae-in", "Kim Jong Un", *store)
    assert out.returncode == 0 and "chain 1" in out.stdout and "“" in out.stdout
    out = run_cli("central", "--measure", "betweenness", *store)
    assert out.returncode == 0 and "betweenness centrality" in out.stdout
    assert "North Korea" in out.stdout.splitlines()[1]
    out = run_cli("ego", "North Korea", "--radius", "1", *store)
    assert out.returncode == 0 and "Mike Pompeo" in out.stdout
    out = run_cli("central", "--measure", "fame", *store)
    assert out.returncode == 1 and "degree" in out.stderr


def test_from_may_name_only_graphs_the_store_holds(seed_store):
    held = run_sparql(seed_store, "SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/newskg/id/"
                                  "graph/entities> WHERE { ?s ?p ?o }")
    assert int(held.rows[0]["n"]) > 100
    with pytest.raises(UnsafeQuery, match="only graphs held in the store"):
        run_sparql(seed_store, "SELECT * FROM NAMED <http://127.0.0.1:9/x> WHERE { GRAPH ?g { ?s ?p ?o } }")


def test_cli_sparql_stops_a_runaway_query_at_its_time_limit(store_path, runaway_query):
    import time

    started = time.monotonic()
    out = run_cli("sparql", runaway_query, "--timeout", "2", "--store", str(store_path))
    assert out.returncode == 1 and "time limit" in out.stderr and "Traceback" not in out.stderr
    assert time.monotonic() - started < 15
