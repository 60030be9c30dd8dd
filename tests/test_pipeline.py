"""Issue 2: the seed graph end to end: quotes, offsets, resolution, dates, SHACL, idempotence."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rdflib import Dataset, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL

from kg import iris
from kg.derive import rebuild, replace_article
from kg.errors import (AmbiguousEntity, ArticleError, ClaimError, DateError, KGError,
                       QuoteNotFound, UnknownEntity)
from kg.pipeline import build, load_corpus
from kg.store import Store
from kg.vocab import KG, OA, PROV, SDO

from .conftest import DATA, SEEDS

OA_NS = "http://www.w3.org/ns/oa#"

# Counted by hand, claim by claim, in data/claims/*.yaml (see the closing note).
HAND_COUNTED = {"000_8613253b72fdd089": 41, "003_ab256062c44c36be": 67, "004_eeebe7db95067d8f": 33}


def _dataset(path: Path) -> Dataset:
    return Dataset().parse(str(path), format="trig")


def _edit_claims(data: Path, stem: str, edit) -> Path:
    path = data / "claims" / f"{stem}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- articles ---------------------------------------------------------------------------------

def test_articles_are_the_seeds_byte_for_byte():
    seeds = sorted(SEEDS.glob("*.txt"))
    assert seeds, "../shared/seeds is beside the project"
    for seed in seeds:
        assert (DATA / "articles" / seed.name).read_bytes() == seed.read_bytes()


def test_altered_article_is_refused(data_copy):
    path = data_copy / "articles" / "000_8613253b72fdd089.txt"
    path.write_bytes(path.read_bytes().replace(b"Thursday", b"Friday", 1))
    with pytest.raises(ArticleError, match="sha256"):
        load_corpus(data_copy)


# --- claims: quotes and offsets ---------------------------------------------------------------

def test_claim_counts_per_article_are_the_hand_counted_ones():
    corpus = load_corpus(DATA)
    counts = {stem: len(cs.claims) for stem, cs in corpus.claim_sets.items()}
    for stem, expected in HAND_COUNTED.items():
        assert counts[stem] == expected


def test_quote_not_in_article_is_refused(data_copy):
    def edit(doc):
        doc["claims"][1]["quote"] = "North Korea happily showed up on Thursday"
    path = _edit_claims(data_copy, "000_8613253b72fdd089", edit)
    with pytest.raises(QuoteNotFound) as err:
        load_corpus(data_copy)
    assert str(path) in str(err.value) and "noshow-nk" in str(err.value)


def test_quote_differing_only_in_typography_gets_a_hint(data_copy):
    def edit(doc):  # 003 uses curly apostrophes; a straight one is not verbatim
        doc["claims"][0]["quote"] = "North Korea a No-Show for Talks With US on Korean War Dead"
        doc["claims"][0]["quote"] = "North Korea a No-Show for Talks With US on Korean War Dead".upper()
    _edit_claims(data_copy, "000_8613253b72fdd089", edit)
    with pytest.raises(QuoteNotFound, match="differ in quotes, dashes, spaces or case"):
        load_corpus(data_copy)


def test_page_furniture_is_never_citable(data_copy):
    def edit(doc):
        doc["claims"][0]["quote"] = "Breaking News"
    _edit_claims(data_copy, "000_8613253b72fdd089", edit)
    with pytest.raises(QuoteNotFound, match="furniture"):
        load_corpus(data_copy)


def test_every_claim_graph_points_at_its_exact_characters(build_dir):
    ds = _dataset(build_dir / "kg.trig")
    texts = {}
    claims = list(ds.quads((None, PROV.wasDerivedFrom, None, None)))
    checked = 0
    for claim, _, article, g in claims:
        if claim != g:
            continue
        graph = ds.graph(g)
        stem = str(article).rsplit("/", 1)[-1]
        if stem not in texts:
            texts[stem] = (DATA / "articles" / f"{stem}.txt").read_bytes().decode("utf-8")
        target = graph.value(claim, OA.hasTarget)
        assert graph.value(target, OA.hasSource) == article
        exact = start = end = None
        for sel in graph.objects(target, OA.hasSelector):
            if graph.value(sel, OA.exact) is not None:
                exact = str(graph.value(sel, OA.exact))
            if graph.value(sel, OA.start) is not None:
                start, end = int(graph.value(sel, OA.start)), int(graph.value(sel, OA.end))
        assert texts[stem][start:end] == exact, claim
        checked += 1
    corpus = load_corpus(DATA)
    assert checked == sum(len(cs.claims) for cs in corpus.claim_sets.values())


def test_text_fields_must_be_verbatim_parts_of_the_quote(data_copy):
    def edit(doc):
        claim = next(c for c in doc["claims"] if c["id"] == "we-were-ready")
        claim["statement"]["text"] = "We were never ready"
    _edit_claims(data_copy, "000_8613253b72fdd089", edit)
    with pytest.raises(QuoteNotFound, match="we-were-ready.*statement.text"):
        load_corpus(data_copy)


# --- claims: names and dates ------------------------------------------------------------------

def test_unknown_actor_is_refused_with_the_claim_named(data_copy):
    def edit(doc):
        doc["claims"][1]["attendance"]["actor"] = "Kim Yo Jong"
    path = _edit_claims(data_copy, "000_8613253b72fdd089", edit)
    with pytest.raises(UnknownEntity) as err:
        load_corpus(data_copy)
    message = str(err.value)
    assert str(path) in message and "noshow-nk" in message and "Kim Yo Jong" in message


def test_ambiguous_name_lists_the_candidates():
    registry = load_corpus(DATA).registry
    with pytest.raises(AmbiguousEntity) as err:
        registry.resolve("Pyongyang")  # the city, and North Korea's government
    assert {e.key for e in err.value.candidates} == {"pyongyang", "north-korea"}
    assert registry.resolve("Pyongyang", {"place"}).key == "pyongyang"
    assert registry.resolve("Pyongyang", {"state"}).key == "north-korea"


def test_date_after_publication_is_refused_unless_expected(data_copy):
    def edit(doc):
        claim = next(c for c in doc["claims"] if c["id"] == "sunday-proposed")
        del claim["meeting"]["tense"]
        claim["meeting"]["date"] = "next Sunday"
    _edit_claims(data_copy, "000_8613253b72fdd089", edit)
    with pytest.raises(DateError, match="sunday-proposed.*after the article's publication"):
        load_corpus(data_copy)


def test_impossible_date_is_refused(data_copy):
    def edit(doc):
        doc["claims"][1]["attendance"]["date"] = "February 30, 2018"
    _edit_claims(data_copy, "000_8613253b72fdd089", edit)
    with pytest.raises(DateError, match="noshow-nk"):
        load_corpus(data_copy)


def test_relative_dates_resolve_against_the_article(seed_store):
    rows = seed_store.raw.query("""
        PREFIX sem: <http://semanticweb.cs.vu.nl/2009/11/sem/>
        SELECT ?e ?l WHERE { GRAPH ?g { ?m sem:hasEarliestBeginTimeStamp ?e ;
                                            sem:hasLatestEndTimeStamp ?l } }""",
        substitutions={})
    by_node = {}
    for r in seed_store.raw.query("""
        PREFIX sem: <http://semanticweb.cs.vu.nl/2009/11/sem/>
        SELECT ?m ?e ?l WHERE { GRAPH ?g { ?m sem:hasEarliestBeginTimeStamp ?e ;
                                              sem:hasLatestEndTimeStamp ?l } }"""):
        by_node.setdefault(r["m"].value.rsplit("/", 1)[-1], set()).add((r["e"].value,
                                                                        r["l"].value))
    assert ("2018-07-12", "2018-07-12") in by_node["dmz-remains-talks"]       # "Thursday"
    assert ("2018-07-15", "2018-07-15") in by_node["sunday-remains-meeting"]  # "Sunday", future
    assert ("2018-06-01", "2018-06-30") in by_node["singapore-summit"]        # "last month"
    assert ("2018-07-02", "2018-07-08") in by_node["pompeo-pyongyang-talks"]  # "last week"
    assert ("1950-01-01", "1953-12-31") in by_node["korean-war"]              # "the early 1950s"
    del rows


# --- entity resolution ------------------------------------------------------------------------

def test_the_same_person_is_one_node_across_all_three_articles(seed_store):
    trump = iris.entity("person", "donald-trump")
    found = set()
    for q in seed_store.quads():
        s, p, o, g = q
        if trump in (s, o) and g is not None and "/claim/" in str(g):
            found.add(str(g).split("/claim/")[1].split("/")[0])
    corpus = load_corpus(DATA)
    assert found == set(corpus.claim_sets), "Trump is resolved in every article's claims"


def test_aliases_of_pompeo_resolve_to_one_entity():
    registry = load_corpus(DATA).registry
    keys = {registry.resolve(n, {"person"}).key for n in
            ("Pompeo", "Mike Pompeo", "Secretary of State Mike Pompeo", "the U.S. top diplomat")}
    assert keys == {"mike-pompeo"}


def test_wikidata_links_only_where_verified(seed_store, data_copy):
    verified = {line.split("\t")[1] for line in (DATA / "wikidata.tsv").read_text().splitlines()
                if line and not line.startswith(("#", "label"))}
    linked = {str(o).rsplit("/", 1)[1] for s, p, o, g in seed_store.quads() if p == OWL.sameAs}
    assert linked and linked <= verified
    path = data_copy / "entities" / "actors.yaml"
    path.write_text(path.read_text().replace("label: Moon Jae-in", "label: Moon Jae-in\n  wikidata: Q21001"))
    with pytest.raises(KGError, match="moon-jae-in.*not in the verified list"):
        load_corpus(data_copy)


# --- provenance shape -------------------------------------------------------------------------

def test_every_claim_graph_has_article_outlet_date_and_activity(build_dir):
    ds = _dataset(build_dir / "kg.trig")
    union = ds  # articles live in their own graphs; look them up across the dataset
    claims = [g for g in ds.graphs() if "/claim/" in str(g.identifier)]
    assert claims
    for g in claims:
        c = g.identifier
        article = g.value(c, PROV.wasDerivedFrom)
        assert article is not None
        assert (article, None, SDO.NewsArticle) in ds.graph(URIRef(str(article).replace(
            "/id/article/", "/id/graph/article/")))
        assert g.value(c, PROV.wasGeneratedBy) is not None
    publishers = {o for _s, _p, o, _g in union.quads((None, SDO.publisher, None, None))}
    assert len(publishers) == 3


def test_build_passes_shacl_and_prints_a_summary(tmp_path):
    out = subprocess.run([sys.executable, "-m", "kg.cli", "build", "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=DATA.parent)
    assert out.returncode == 0, out.stderr
    for word in ("articles", "claims", "actors", "meetings", "pledges", "statements",
                 "triples", "SHACL      conforms"):
        assert word in out.stdout
    assert (tmp_path / "kg.trig").exists() and (tmp_path / "kg.nq").exists()


# --- idempotence and atomic outputs -----------------------------------------------------------

def test_second_build_is_isomorphic_to_the_first(build_dir, tmp_path):
    build(DATA, tmp_path)
    first, second = _dataset(build_dir / "kg.trig"), _dataset(tmp_path / "kg.trig")
    names = {g.identifier for g in first.graphs()}
    assert names == {g.identifier for g in second.graphs()}
    for name in names:
        assert isomorphic(first.graph(name), second.graph(name)), name
    assert (build_dir / "kg.nq").read_bytes() == (tmp_path / "kg.nq").read_bytes()


def test_nquads_round_trip_exactly(build_dir):
    import pyoxigraph as ox
    quads = set(ox.parse(path=str(build_dir / "kg.nq"), format=ox.RdfFormat.N_QUADS))
    again = Store()
    again.load_file(build_dir / "kg.nq")
    assert set(again.raw) == quads
    # through rdflib and back: the same terms (the xsd:string and dateTime traps would show here)
    from kg.store import to_ox
    ds = Dataset().parse(str(build_dir / "kg.nq"), format="nquads")
    via_rdflib = {ox.Quad(to_ox(s), to_ox(p), to_ox(o), to_ox(g)) for s, p, o, g in ds.quads()}
    assert via_rdflib == quads
    # a plain literal written by the loader reads back as the same rdflib term
    label = Literal("Mike Pompeo")
    assert any(o == label for _s, _p, o, _g in Store(build_dir / "store", read_only=True).quads())


def test_failed_build_leaves_previous_outputs_untouched(data_copy, tmp_path):
    build(data_copy, tmp_path)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in tmp_path.iterdir() if p.is_file()}
    _edit_claims(data_copy, "000_8613253b72fdd089",
                 lambda doc: doc["claims"][0].update(quote="not in the article"))
    with pytest.raises(QuoteNotFound):
        build(data_copy, tmp_path)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in tmp_path.iterdir() if p.is_file()}
    assert before == after
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]
    assert len(Store(tmp_path / "store", read_only=True)) > 0


def test_reloading_one_article_replaces_exactly_its_claims(data_copy):
    from kg.pipeline import article_bundle, corpus_quads

    corpus = load_corpus(data_copy)
    store = Store()
    store.add(corpus_quads(corpus, validate=False))
    rebuild(store)
    stem = "000_8613253b72fdd089"

    def others():  # the other articles' graphs and the registry (the facts are derived)
        return {q for q in store.quads()
                if q[3] not in (None, iris.FACTS_GRAPH) and stem not in str(q[3])}

    before = others()
    old = set(store.graphs_of_article(stem))
    _edit_claims(data_copy, stem, lambda doc: doc["claims"].pop(1))  # drop noshow-nk
    corpus = load_corpus(data_copy)
    replace_article(store, stem, article_bundle(corpus, stem))
    new = set(store.graphs_of_article(stem))
    assert len(old - new) == 1 and not (new - old)
    assert others() == before
    facts = set(store.quads(iris.FACTS_GRAPH))
    replace_article(store, stem, article_bundle(corpus, stem))  # twice: no change
    assert set(store.graphs_of_article(stem)) == new
    assert set(store.quads(iris.FACTS_GRAPH)) == facts
    rebuild(store)  # the recount of the article's facts is what a count from scratch gives
    assert set(store.quads(iris.FACTS_GRAPH)) == facts


# --- the questions the issue will be checked with ---------------------------------------------

def test_who_was_expected_at_the_dmz_meeting_and_did_not_come(seed_store):
    rows = seed_store.raw.query("""
        PREFIX kg: <https://w3id.org/newskg/ontology#>
        PREFIX sem: <http://semanticweb.cs.vu.nl/2009/11/sem/>
        SELECT DISTINCT ?actor WHERE {
          GRAPH ?g1 { ?p kg:meeting ?m ; kg:participant ?actor ; kg:attendance kg:Expected }
          GRAPH ?g2 { ?p kg:attendance kg:Absent }
          GRAPH ?g3 { ?m sem:hasEarliestBeginTimeStamp "2018-07-12"^^<http://www.w3.org/2001/XMLSchema#date> }
        }""")
    assert {r["actor"].value.rsplit("/", 1)[-1] for r in rows} == {"north-korea"}


def test_what_kim_pledged_at_singapore(seed_store):
    rows = seed_store.raw.query("""
        PREFIX kg: <https://w3id.org/newskg/ontology#>
        SELECT DISTINCT ?content WHERE {
          GRAPH ?g { ?pledge kg:pledgedBy <https://w3id.org/newskg/id/actor/kim-jong-un> ;
                             kg:content ?content }
          GRAPH ?h { ?pledge kg:meeting <https://w3id.org/newskg/id/event/singapore-summit> }
        }""")
    contents = {r["content"].value for r in rows}
    assert "immediate repatriation of those already identified" in contents


# --- the CLI ----------------------------------------------------------------------------------

def test_cli_reports_bad_input_in_one_line_without_traceback(data_copy, tmp_path):
    _edit_claims(data_copy, "000_8613253b72fdd089",
                 lambda doc: doc["claims"][2]["meeting"].update(place="Atlantis"))
    out = subprocess.run([sys.executable, "-m", "kg.cli", "build", "--data", str(data_copy),
                          "--out", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert re.search(r"000_8613253b72fdd089\.yaml:\d+: talks-failed: meeting\.place: no place "
                     r"is called 'Atlantis'", out.stderr), out.stderr
