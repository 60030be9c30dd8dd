"""Network views (kg.network) over the seed graph.

The facts checked here are ones article 000 (Voice of America, 2018-07-12) states; links that
other articles add are only checked for the properties every link must have.
"""

from __future__ import annotations

import doctest
import random
from fractions import Fraction
from pathlib import Path

import networkx as nx
import pytest
from rdflib import RDF, RDFS, Literal, URIRef

import kg.network as network
from kg import iris
from kg.derive import remove_article
from kg.errors import AmbiguousEntity, QueryError, UnknownEntity
from kg.network import (MEASURES, RELATIONS, actor_meeting_network, actor_network, centrality,
                        connecting_chains, edges_between, ego_network, restrict)
from kg.query import PREFIXES, load_queries, run_named
from kg.store import Store, kept_beside
from kg.vocab import SEM

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
ID = "https://w3id.org/newskg/id/"
POMPEO, NK, KIM, TRUMP = (ID + "actor/" + k for k in
                          ("mike-pompeo", "north-korea", "kim-jong-un", "donald-trump"))
US, DOD = ID + "actor/united-states", ID + "actor/us-dod"
PYONGYANG_TALKS, DMZ_TALKS = ID + "event/pompeo-pyongyang-talks", ID + "event/dmz-remains-talks"
SINGAPORE = ID + "event/singapore-summit"
VOA = "Voice of America"


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    from kg.pipeline import build

    out = tmp_path_factory.mktemp("network")
    build(DATA, out, validate=False)
    return out


@pytest.fixture(scope="session")
def store(built):
    return Store(built / "store", read_only=True)


@pytest.fixture(scope="session")
def graph(store):
    return actor_network(store)


_OUTLETS = PREFIXES + """
SELECT ?claim ?name WHERE {
  GRAPH ?claim { ?claim prov:wasDerivedFrom ?article }
  GRAPH ?ag { ?article schema:publisher ?outlet }
  GRAPH ?eg { ?outlet rdfs:label ?name }
}"""


@pytest.fixture(scope="session")
def outlet_of(store):
    """Claim IRI -> outlet label, read straight from the store (not through the views)."""
    return {row["claim"].value: row["name"].value for row in store.raw.query(_OUTLETS)}


def _links(g, a, b, relation):
    return edges_between(g, a, b, relation)


def _all_edges(g):
    return list(g.edges(keys=True, data=True))


# --- the named queries --------------------------------------------------------------------------

def test_view_queries_are_named_queries(store):
    views = {name: q for name, q in load_queries().items() if name.startswith("view_")}
    assert {"view_participations", "view_pledges", "view_statements", "view_memberships",
            "view_relations", "view_disputes"} <= set(views)
    for name, query in views.items():
        assert query.description, name
        assert query.used_params == {p.name for p in query.params}, name
        result = run_named(store, name)
        # article 000 alone states no part-of / contact / request relation
        assert result.rows or name == "view_relations", f"{name}: nothing on the seed graph"
        assert set(result.vars) == set(network._QUERIES[name]), name
    assert set(views) == set(network._QUERIES)


# --- actor_network: the facts article 000 states ------------------------------------------------

def test_pompeo_and_north_korea_met_in_pyongyang(graph):
    met = [e for e in _links(graph, POMPEO, NK, "met") if e["via"] == PYONGYANG_TALKS]
    assert len(met) == 1
    link = met[0]
    assert link["symmetric"] is True
    assert len(link["sides"]) == 2 and all(link["sides"])
    # both participants' attendance claims support the link
    assert set(link["claims"]) == set(link["sides"][0]) | set(link["sides"][1])
    assert any("/000_8613253b72fdd089/" in c for c in link["claims"])


def test_north_korea_missed_the_defense_department_at_the_dmz(graph):
    missed = [e for e in _links(graph, NK, DOD, "missed") if e["via"] == DMZ_TALKS]
    assert len(missed) == 1
    assert (missed[0]["source"], missed[0]["target"]) == (NK, DOD)
    assert missed[0]["earliest"] <= "2018-07-12" <= missed[0]["latest"]


def test_kim_pledged_to_trump(graph):
    pledges = _links(graph, KIM, TRUMP, "pledged_to")
    assert pledges and all((e["source"], e["target"]) == (KIM, TRUMP) for e in pledges)
    assert any(e["via"] == ID + "pledge/singapore-repatriation-pledge" for e in pledges)


def test_north_korea_criticized_the_united_states(graph):
    criticized = _links(graph, NK, US, "criticized")
    assert criticized and all(e["source"] == NK for e in criticized)
    assert all(e["via"].startswith(ID + "statement/") for e in criticized)


def test_other_article_000_links(graph):
    assert _links(graph, POMPEO, US, "holds_office_in")
    assert [e for e in _links(graph, POMPEO, NK, "disputed") if e["source"] == POMPEO]
    assert [e for e in _links(graph, POMPEO, NK, "praised") if e["source"] == POMPEO]


def test_nodes_are_labelled_actors(graph):
    assert graph.nodes[POMPEO]["label"] == "Mike Pompeo"
    assert graph.nodes[POMPEO]["kind"] == "person"
    assert graph.nodes[NK]["kind"] == "state"
    assert graph.nodes[DOD]["kind"] == "organization"
    kinds = {d["kind"] for _, d in graph.nodes(data=True)}
    assert kinds <= {"person", "state", "organization", "outlet", "source"}
    assert "source" in kinds  # "one official" criticized North Korea
    assert all(d["label"] for _, d in graph.nodes(data=True))


def test_every_link_is_well_formed(graph):
    assert graph.number_of_edges() > 0
    for u, v, key, d in _all_edges(graph):
        assert u != v
        assert d["relation"] in RELATIONS
        assert d["claims"] and d["claims"] == sorted(set(d["claims"]))
        assert d["outlets"] == sorted(set(d["outlets"]))
        assert all(c.startswith(ID + "claim/") for c in d["claims"])
        assert (d["earliest"] is None) == (d["latest"] is None)
        if d["earliest"]:
            assert d["earliest"] <= d["latest"]
        assert key.split(" ")[0] == d["relation"]


def test_weight_counts_distinct_outlets(graph, outlet_of):
    for *_, d in _all_edges(graph):
        outlets = {outlet_of[c] for c in d["claims"]}
        assert d["weight"] == len(outlets)
        assert d["outlets"] == sorted(outlets)
    # the same outlet twice counts once: the Pyongyang link has several claims per outlet
    met = [e for e in _links(graph, POMPEO, NK, "met") if e["via"] == PYONGYANG_TALKS][0]
    assert len(met["claims"]) > met["weight"]


# --- filters ------------------------------------------------------------------------------------

def test_outlet_filter_keeps_only_voa_claims(store, outlet_of):
    voa = actor_network(store, outlets=[VOA])
    assert voa.number_of_edges() > 0
    for *_, d in _all_edges(voa):
        assert {outlet_of[c] for c in d["claims"]} == {VOA}
        assert d["outlets"] == [VOA] and d["weight"] == 1
    assert _links(voa, POMPEO, NK, "met")
    # an alias, a key and an IRI name the same outlet
    for name in ("VOA", "voa", ID + "actor/voa"):
        same = actor_network(store, outlets=name)
        assert sorted(same.edges(keys=True)) == sorted(voa.edges(keys=True))


def test_outlet_filter_drops_links_left_without_claims(store, graph):
    voa = actor_network(store, outlets=[VOA])
    for u, v, key, d in _all_edges(graph):
        if VOA not in d["outlets"]:
            assert not voa.has_edge(u, v, key)
    # the view and restrict() agree
    again = restrict(graph, outlets=[VOA])
    assert sorted(again.edges(keys=True)) == sorted(voa.edges(keys=True))


def test_unknown_outlet(store, graph):
    with pytest.raises(UnknownEntity):
        actor_network(store, outlets=["The Daily Planet"])
    with pytest.raises(UnknownEntity) as info:
        restrict(graph, outlets=["The Daily Planet"])
    assert info.value.candidates
    with pytest.raises(QueryError):
        restrict(graph, outlets=[])


def test_time_window_keeps_the_dmz_and_drops_singapore(store):
    july = actor_network(store, start="2018-07-10", end="2018-07-20")
    assert [e for e in _links(july, NK, DOD, "missed") if e["via"] == DMZ_TALKS]
    assert not [e for e in _links(july, KIM, TRUMP, "pledged_to")
                if e["via"] == ID + "pledge/singapore-repatriation-pledge"]
    assert not [e for e in _links(july, KIM, TRUMP, "met") if e["via"] == SINGAPORE]
    for *_, d in _all_edges(july):
        assert d["earliest"] is not None  # undated links go when a window is given
        assert d["earliest"] <= "2018-07-20" and d["latest"] >= "2018-07-10"
    assert july.graph["window"] == ("2018-07-10", "2018-07-20")


def test_window_accepts_dates_and_open_ends(store, graph):
    import datetime as dt

    a = actor_network(store, start=dt.date(2018, 7, 10), end=dt.date(2018, 7, 20))
    b = restrict(graph, start="2018-07-10", end="2018-07-20")
    assert sorted(a.edges(keys=True)) == sorted(b.edges(keys=True))
    later = actor_network(store, start="2018-07-10")
    assert all(d["latest"] >= "2018-07-10" for *_, d in _all_edges(later))
    with pytest.raises(QueryError):
        actor_network(store, start="last week")
    with pytest.raises(QueryError):
        actor_network(store, start="2018-07-20", end="2018-07-10")


def test_filters_compose(store, graph):
    both = actor_network(store, start="2018-07-10", end="2018-07-20", outlets=[VOA])
    stepwise = restrict(restrict(graph, outlets=[VOA]), start="2018-07-10", end="2018-07-20")
    assert sorted(both.edges(keys=True)) == sorted(stepwise.edges(keys=True))
    assert both.number_of_edges() > 0


def test_views_are_fresh_copies(store):
    g = actor_network(store)
    g.remove_node(NK)
    for *_, d in g.edges(data=True):
        d["claims"].clear()
    again = actor_network(store)
    assert NK in again
    assert all(d["claims"] for *_, d in again.edges(data=True))


# --- caching ------------------------------------------------------------------------------------

def test_a_view_is_built_once_per_store(store, monkeypatch):
    calls = []
    real = network.run_named_text
    monkeypatch.setattr(network, "run_named_text",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    network._CACHE.pop(store, None)
    kept_beside(store, network._VIEWS_KIND).unlink(missing_ok=True)  # else read from the file
    actor_network(store)
    actor_meeting_network(store)
    assert len(calls) == len(network._QUERIES)
    calls.clear()
    actor_network(store)
    actor_network(store, outlets=[VOA], start="2018-07-01")
    actor_meeting_network(store)
    connecting_chains(store, "Pompeo", "Kim Jong Un")
    assert calls == []


def test_cache_follows_changes_to_the_store(built):
    mem = Store()
    mem.load_file(built / "kg.nq", "nq")
    before = actor_network(mem)
    assert VOA in {o for *_, d in before.edges(data=True) for o in d["outlets"]}
    remove_article(mem, "000_8613253b72fdd089")
    after = actor_network(mem)
    assert VOA not in {o for *_, d in after.edges(data=True) for o in d["outlets"]}


# --- centrality ---------------------------------------------------------------------------------

@pytest.mark.parametrize("measure", MEASURES)
def test_centrality_is_sorted_and_named(graph, measure):
    ranking = centrality(graph, measure)
    assert {iri for iri, _, _ in ranking} == set(graph.nodes)
    for iri, label, score in ranking:
        assert label == graph.nodes[iri]["label"]
        assert isinstance(score, float)
    keys = [(-round(s, 12), label.casefold()) for _, label, s in ranking]
    assert keys == sorted(keys)
    # North Korea is in most of the links the articles report
    assert NK in [iri for iri, _, _ in ranking[:5]]


def test_centrality_unknown_measure(graph):
    with pytest.raises(QueryError) as info:
        centrality(graph, "fame")
    assert all(m in str(info.value) for m in MEASURES)


def test_centrality_of_an_empty_view():
    assert centrality(nx.MultiDiGraph(), "pagerank") == []


def _random_views(count: int, weights=(1, 2, 3, 4, 5, 6, 7)):
    """Seeded random views, with isolated nodes, several components and repeated links."""
    for seed in range(count):
        rng = random.Random(seed)
        n = rng.randint(1, 30)
        view = nx.MultiDiGraph()
        view.add_nodes_from((i, {"label": f"n{i}"}) for i in range(n))
        for _ in range(rng.randint(0, 3 * n)):
            view.add_edge(rng.randrange(n), rng.randrange(n), weight=rng.choice(weights))
        yield view


def _exact(view, measure: str) -> dict:
    """``measure`` of ``view`` with lengths as fractions: no tie between shortest paths lost."""
    simple = network._collapse(view)
    length = lambda u, v, d: Fraction(1, d["weight"])  # noqa: E731
    if measure == "betweenness":
        return nx.betweenness_centrality(simple, weight=length)
    return {k: float(c) for k, c in nx.closeness_centrality(simple, distance=length).items()}


@pytest.fixture(params=["igraph", "networkx"])
def engine(request, monkeypatch):
    """Which library computes the measures made of shortest paths: igraph (installed with the
    test extras), or networkx, as without the ``fast`` extra."""
    if request.param == "igraph":
        import igraph  # noqa: F401  (an ImportError here is a missing install step)
    else:
        monkeypatch.setattr(network, "_by_paths_in_igraph", lambda simple, measure: None)
    return request.param


@pytest.mark.parametrize("measure", ["betweenness", "closeness"])
def test_measures_of_shortest_paths_are_exact(engine, measure):
    """Every engine gives networkx's definitions, computed as if with exact fractions: with
    floats, 1/3 + 1/3 + 1/3 may not equal 1 and a tie between shortest paths be missed."""
    for view in _random_views(40):
        got = {iri: score for iri, _label, score in centrality(view, measure)}
        want = _exact(view, measure)
        assert got.keys() == {str(n) for n in want}
        assert max(abs(got[str(n)] - want[n]) for n in want) < 1e-12, view.edges(data=True)


def test_float_lengths_lose_ties_that_whole_numbers_keep():
    """Why the lengths are whole numbers: the same graphs with networkx's float lengths are
    off, so the test above can tell."""
    off = 0.0
    for view in _random_views(40, weights=(1, 3)):
        simple = network._collapse(view)
        floats = nx.betweenness_centrality(simple, weight="distance")
        off = max([off] + [abs(floats[n] - x) for n, x in _exact(view, "betweenness").items()])
    assert off > 1e-3


def test_both_engines_rank_the_seed_actors_alike(graph, monkeypatch):
    for measure in ("betweenness", "closeness"):
        fast = centrality(graph, measure)
        with monkeypatch.context() as m:
            m.setattr(network, "_by_paths_in_igraph", lambda simple, measure: None)
            slow = centrality(graph, measure)
        assert [iri for iri, *_ in fast] == [iri for iri, *_ in slow]
        assert max(abs(a[2] - b[2]) for a, b in zip(fast, slow)) < 1e-12


def test_lengths_igraph_cannot_take_are_left_to_networkx():
    view = nx.MultiDiGraph()
    view.add_nodes_from((n, {"label": n}) for n in "abc")
    view.add_edge("a", "b", weight=0)  # no outlet: an infinite length
    view.add_edge("b", "c", weight=1)
    simple = network._collapse(view)
    for measure in ("betweenness", "closeness"):
        assert network._by_paths_in_igraph(simple, measure) is None
        assert ({iri: s for iri, _, s in centrality(view, measure)}
                == network._BY_PATHS[measure](simple))


# --- chains -------------------------------------------------------------------------------------

def test_chains_between_pompeo_and_kim(store):
    chains = connecting_chains(store, "Pompeo", "Kim Jong Un")
    assert chains
    assert len({len(c) for c in chains}) == 1  # all shortest
    for chain in chains:
        here = POMPEO
        for link in chain:
            assert link["claims"] and link["weight"] >= 1 and link["relation"] in RELATIONS
            assert here in (link["source"], link["target"])  # direction ignored, but reported
            here = link["target"] if link["source"] == here else link["source"]
            assert link["source_label"] and link["target_label"]
        assert here == KIM
    weights = [sum(link["weight"] for link in c) for c in chains]
    assert weights == sorted(weights, reverse=True)


def test_chains_on_a_view_and_limits(store, graph):
    on_view = connecting_chains(graph, "Mike Pompeo", KIM)
    assert on_view == connecting_chains(store, "Pompeo", "Kim Jong Un")
    assert len(connecting_chains(store, "Pompeo", "Kim Jong Un", max_chains=1)) == 1
    with pytest.raises(QueryError):
        connecting_chains(store, "Pompeo", "Kim Jong Un", max_chains=0)


def test_chains_same_actor_and_no_path(store, graph):
    with pytest.raises(QueryError):
        connecting_chains(store, "Pompeo", "Mike Pompeo")
    # two actors with no link between them in a view: an empty answer, not an error
    cut = graph.copy()
    cut.remove_edges_from(list(cut.edges(KIM, keys=True)) + list(cut.in_edges(KIM, keys=True)))
    assert connecting_chains(cut, POMPEO, KIM) == []


def test_unknown_and_ambiguous_names(store):
    with pytest.raises(UnknownEntity) as info:
        connecting_chains(store, "Korea", "Pompeo")
    assert NK in info.value.candidates
    with pytest.raises(UnknownEntity):
        connecting_chains(store, "Pompeo", "Nobody At All")
    # two actors sharing a name, in a small store of their own
    tiny = Store()
    g = iris.ENTITIES_GRAPH
    a, b = URIRef(ID + "actor/kim-a"), URIRef(ID + "actor/kim-b")
    tiny.add([(a, RDF.type, SEM.Actor, g), (a, RDFS.label, Literal("Kim"), g),
              (b, RDF.type, SEM.Actor, g), (b, RDFS.label, Literal("Kim"), g)])
    with pytest.raises(AmbiguousEntity) as info:
        connecting_chains(tiny, "Kim", ID + "actor/kim-a")
    assert sorted(info.value.candidates) == sorted([str(a), str(b)])


def test_ambiguous_names_in_a_view():
    g = nx.MultiDiGraph()
    g.add_node("x:1", label="Kim", aliases=[])
    g.add_node("x:2", label="Kim", aliases=[])
    g.add_node("x:3", label="Moon", aliases=["President Moon"])
    with pytest.raises(AmbiguousEntity) as info:
        connecting_chains(g, "Kim", "Moon")
    assert info.value.candidates == ["x:1", "x:2"]
    with pytest.raises(UnknownEntity):
        ego_network(g, "Pence")


# --- ego network --------------------------------------------------------------------------------

def test_ego_network_of_north_korea(graph):
    ego = ego_network(graph, NK, radius=1)
    assert isinstance(ego, nx.MultiDiGraph)
    assert POMPEO in ego and NK in ego
    # undirected reach: Pompeo -> North Korea edges count as much as North Korea -> others
    assert DOD in ego
    assert set(ego) <= set(graph)
    assert set(ego_network(graph, "North Korea", radius=0)) == {NK}
    assert set(ego_network(graph, NK, radius=2)) >= set(ego)
    with pytest.raises(QueryError):
        ego_network(graph, NK, radius=-1)


# --- actor-meeting network ----------------------------------------------------------------------

def test_actor_meeting_network_is_bipartite(store):
    g = actor_meeting_network(store)
    assert nx.algorithms.bipartite.is_bipartite(g)
    actors = {n for n, d in g.nodes(data=True) if d["bipartite"] == 0}
    meetings = {n for n, d in g.nodes(data=True) if d["bipartite"] == 1}
    assert actors and meetings and not actors & meetings
    assert all(n.startswith(ID + "event/") for n in meetings)
    for u, v in g.edges:
        assert (u in actors) != (v in actors)
    assert g[NK][DMZ_TALKS]["attendance"] == sorted(set(g[NK][DMZ_TALKS]["attendance"]))
    assert "absent" in g[NK][DMZ_TALKS]["attendance"]
    assert "attended" in g[POMPEO][PYONGYANG_TALKS]["attendance"]
    dmz = g.nodes[DMZ_TALKS]
    assert dmz["label"] and dmz["place"]
    assert dmz["earliest"] <= "2018-07-12" <= dmz["latest"]
    for *_, d in g.edges(data=True):
        assert d["claims"] and d["weight"] == len(d["outlets"])


def test_actor_meeting_network_filters(store):
    july = actor_meeting_network(store, start="2018-07-10", end="2018-07-20", outlets=[VOA])
    assert nx.algorithms.bipartite.is_bipartite(july)
    assert DMZ_TALKS in july and SINGAPORE not in july
    assert all(d["outlets"] == [VOA] for *_, d in july.edges(data=True))
    ranking = centrality(july, "degree")
    assert ranking and ranking[0][1]


# --- doctests -----------------------------------------------------------------------------------

def test_module_doctests():
    result = doctest.testmod(network, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_kg_central_says_when_networkx_will_be_slow(built, monkeypatch):
    """Without igraph, a ranking by shortest paths over many actors takes minutes: the CLI
    says so on stderr, and how to make it seconds; the ranking itself is unchanged."""
    from click.testing import CliRunner

    import kg.cli

    args = ["central", "--measure", "betweenness", "--store", str(built / "store")]
    runner = CliRunner()
    quick = runner.invoke(kg.cli.cli, args)
    assert quick.exit_code == 0 and quick.stderr == ""
    monkeypatch.setattr(kg.cli, "_SLOW_PATHS", 10)  # as if the seed's actors were thousands
    real = kg.cli.importlib.util.find_spec
    monkeypatch.setattr(kg.cli.importlib.util, "find_spec",
                        lambda name, *a: None if name == "igraph" else real(name, *a))
    slow = runner.invoke(kg.cli.cli, args)
    assert slow.exit_code == 0 and "pip install -e '.[fast]'" in slow.stderr
    assert slow.stdout == quick.stdout
    degree = runner.invoke(kg.cli.cli, ["central", "--store", str(built / "store")])
    assert degree.exit_code == 0 and degree.stderr == ""
