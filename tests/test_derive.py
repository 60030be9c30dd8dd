"""The derived fact nodes (kg.derive): counted right by a build, kept right by add and remove."""

from __future__ import annotations

import doctest
import shutil

import yaml

import kg.derive
from kg import iris
from kg.derive import rebuild
from kg.pipeline import add_article, build, remove_article
from kg.query import PREFIXES
from kg.store import Store
from kg.vocab import KG

from .conftest import DATA

STEMS = ("000_8613253b72fdd089", "003_ab256062c44c36be", "004_eeebe7db95067d8f")

# The definition of corroboration, counted over every claim (what the facts graph spares a query)
_COUNTED = PREFIXES + """
SELECT ?s ?p ?o (COUNT(DISTINCT ?outlet) AS ?n) WHERE {
  GRAPH ?claim { ?claim prov:wasDerivedFrom ?article . ?s ?p ?o }
  FILTER(?s != ?claim && !STRSTARTS(STR(?s), CONCAT(STR(?claim), "/")) && ?p != rdf:type)
  GRAPH ?ag { ?article schema:publisher ?outlet }
} GROUP BY ?s ?p ?o"""

_KEPT = PREFIXES + """
SELECT ?s ?p ?o ?n WHERE { GRAPH <%s> {
  ?fact rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; kg:outletCount ?n } }""" % iris.FACTS_GRAPH


_COUNTED_OUTLETS = _COUNTED.replace("(COUNT(DISTINCT ?outlet) AS ?n)", "?outlet").replace(
    "GROUP BY ?s ?p ?o", "")
_KEPT_OUTLETS = PREFIXES + """
SELECT ?s ?p ?o ?outlet WHERE { GRAPH <%s> {
  ?fact rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; prov:wasAttributedTo ?outlet } }""" % (
    iris.FACTS_GRAPH)


# An actor's claim count, counted over every claim (what `actors` asked before it was kept)
_COUNTED_MENTIONS = PREFIXES + """
SELECT ?actor (COUNT(DISTINCT ?claim) AS ?n) WHERE {
  GRAPH ?claim { ?claim prov:wasDerivedFrom ?article . ?x ?p ?actor }
  GRAPH ?tg { ?actor a sem:Actor }
} GROUP BY ?actor"""
_KEPT_MENTIONS = PREFIXES + """
SELECT ?actor ?n WHERE { GRAPH <%s> { ?actor kg:claimCount ?n } }""" % iris.FACTS_GRAPH


def mentions(store: Store) -> tuple[dict, dict]:
    """The actors' claim counts kept in the store, and counted over every claim."""
    def read(text):
        return {str(r[0]): int(r[1].value) for r in store.raw.query(text)}
    return read(_KEPT_MENTIONS), read(_COUNTED_MENTIONS)


def outlets(store: Store, text: str) -> dict:
    found: dict = {}
    for r in store.raw.query(text):
        found.setdefault((str(r[0]), str(r[1]), str(r[2])), set()).add(str(r[3]))
    return found


def counts(store: Store, text: str) -> dict:
    return {(str(r[0]), str(r[1]), str(r[2])): int(r[3].value) for r in store.raw.query(text)}


def facts(path) -> set:
    return set(Store(path, read_only=True).quads(iris.FACTS_GRAPH))


def test_doctests():
    assert doctest.testmod(kg.derive).failed == 0


def test_every_reported_triple_has_its_outlet_count(seed_store):
    kept = counts(seed_store, _KEPT)
    assert kept == counts(seed_store, _COUNTED)
    assert len(kept) > 300 and max(kept.values()) == 3  # the three seed outlets
    # one node per fact at the IRI its triple gives it: its triple, its count, and the very
    # outlets counted (one prov:wasAttributedTo each)
    quads = {q for q in seed_store.quads(iris.FACTS_GRAPH)
             if q[1] not in (KG.claimCount, KG.factsVersion)}
    assert len(quads) == 4 * len(kept) + sum(kept.values())
    assert outlets(seed_store, _KEPT_OUTLETS) == outlets(seed_store, _COUNTED_OUTLETS)
    assert {q[0] for q in quads} == {iris.fact(str(r[0]), str(r[1]), str(r[2]))
                                     for r in seed_store.raw.query(_KEPT)}


def test_every_actor_a_claim_mentions_has_its_claim_count(seed_store):
    kept, counted = mentions(seed_store)
    assert kept == counted
    assert len(kept) > 15 and max(kept.values()) > 10
    # only actors: the meetings and places the claims mention have none
    assert all("/actor/" in actor or "/source/" in actor for actor in kept)


def test_remove_and_add_recount_what_they_touch(build_dir, tmp_path):
    build(DATA, tmp_path, validate=False)
    store = tmp_path / "store"
    full = facts(store)
    remove_article(STEMS[0], store)
    after = Store(store, read_only=True)
    kept = counts(after, _KEPT)
    assert kept == counts(after, _COUNTED)
    assert kept != counts(Store(build_dir / "store", read_only=True), _KEPT)
    kept_mentions, counted_mentions = mentions(after)
    assert kept_mentions == counted_mentions
    assert kept_mentions != mentions(Store(build_dir / "store", read_only=True))[0]
    del after
    for stem in STEMS[1:]:
        remove_article(stem, store)
    # no claims, no facts, no counts; only which rules counted them
    assert {q[1] for q in facts(store)} == {KG.factsVersion}
    for stem in STEMS:
        add_article(stem, DATA, store, validate=False)
    assert facts(store) == full
    add_article(STEMS[1], DATA, store, validate=False)  # the same again: counts do not move
    assert facts(store) == full


def test_an_actor_without_a_kept_count_is_counted_in_the_store(build_dir, tmp_path):
    """A count missing (a store filled by hand, or one it was lost from) is counted from the
    claims in the store when an article mentioning the actor comes, not started from zero."""
    build(DATA, tmp_path, validate=False)
    path = tmp_path / "store"
    store = Store(path)
    full = set(store.quads(iris.FACTS_GRAPH))
    store.raw.update(PREFIXES + "DELETE WHERE { GRAPH <%s> { ?a kg:claimCount ?n } }"
                     % iris.FACTS_GRAPH)
    store.flush()
    del store
    for stem in STEMS:
        add_article(stem, DATA, path, validate=False)
    assert facts(path) == full


def test_a_new_outlet_for_an_article_recounts_its_facts(data_copy, tmp_path):
    build(data_copy, tmp_path, validate=False)
    store = tmp_path / "store"
    before = counts(Store(store, read_only=True), _KEPT)
    meta = data_copy / "articles" / f"{STEMS[0]}.yaml"
    doc = yaml.safe_load(meta.read_text())
    doc["outlet"] = "cbs-news"  # the outlet of STEMS[2]: what both reported is now one outlet's
    meta.write_text(yaml.safe_dump(doc, allow_unicode=True))
    add_article(STEMS[0], data_copy, store, validate=False)
    now = Store(store, read_only=True)
    after = counts(now, _KEPT)
    assert after == counts(now, _COUNTED)
    assert any(after[k] < n for k, n in before.items() if k in after)
    # and a count from scratch on a copy gives the same quads
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    del now
    scratch = Store(copy)
    kept = set(scratch.quads(iris.FACTS_GRAPH))
    rebuild(scratch)
    assert set(scratch.quads(iris.FACTS_GRAPH)) == kept
