"""A store whose derived facts an older kg counted is refused until ``kg rederive`` recounts it.

An older store is made here as an older kg left it: the claim counts and the version marker
taken out of a fresh build's facts graph (version 1 counted only the facts' outlets).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from rdflib.compare import isomorphic

from kg import derive, iris
from kg.api import open_store
from kg.cli import cli
from kg.errors import StaleStore
from kg.pipeline import add_article, rederive, remove_article
from kg.query import PREFIXES
from kg.store import Store
from kg.worker import QueryRunner

from .conftest import DATA

STEM = "003_ab256062c44c36be"


def _as_older_kg_left_it(path, *, drop_counts: bool = True) -> None:
    store = Store(path)
    drop = "kg:factsVersion ?v" if not drop_counts else "kg:factsVersion ?v . ?a kg:claimCount ?n"
    store.raw.update(PREFIXES + "DELETE WHERE { GRAPH <%s> { ?g %s } }" % (iris.FACTS_GRAPH, drop))
    store.flush()


def _facts_graph(path):
    from rdflib import Graph

    graph = Graph()
    for s, p, o, _g in Store(path, read_only=True).quads(iris.FACTS_GRAPH):
        graph.add((s, p, o))
    return graph


def test_a_build_marks_its_facts_with_this_kgs_version(seed_store):
    assert derive.stored_version(seed_store) == derive.FACTS_VERSION
    derive.check_current(seed_store)


def test_an_older_store_is_refused_for_every_read_and_write(fresh_store, tmp_path):
    _as_older_kg_left_it(fresh_store)
    before = set(Store(fresh_store, read_only=True).quads())
    with pytest.raises(StaleStore, match=r"older kg \(version 1; this kg needs 2\).*kg rederive"):
        open_store(fresh_store)
    with pytest.raises(StaleStore) as caught:
        add_article(STEM, DATA, fresh_store, validate=False)
    assert caught.value.file == str(fresh_store)
    with pytest.raises(StaleStore):
        remove_article(STEM, fresh_store)
    with pytest.raises(StaleStore):
        QueryRunner(fresh_store, workers=1)
    runner = CliRunner()
    for args in (["query", "actors"], ["sparql", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"],
                 ["central"], ["html", "--out", str(tmp_path / "g.html")],
                 ["export", "--out", str(tmp_path)],
                 ["add", STEM], ["remove", STEM]):
        result = runner.invoke(cli, args + ["--store", str(fresh_store)])
        assert result.exit_code == 1, (args, result.output)
        assert f"{fresh_store}: the store's derived facts were counted by an older kg" in \
            result.output, args
    assert set(Store(fresh_store, read_only=True).quads()) == before  # nothing written


def test_rederive_recounts_an_older_store_as_a_build_counts(fresh_store, build_dir):
    _as_older_kg_left_it(fresh_store)
    result = CliRunner().invoke(cli, ["rederive", "--store", str(fresh_store)])
    assert result.exit_code == 0, result.output
    assert "facts" in result.output
    assert isomorphic(_facts_graph(fresh_store), _facts_graph(build_dir / "store"))
    store = open_store(fresh_store)  # current again
    assert derive.stored_version(store) == derive.FACTS_VERSION


def test_a_store_marked_by_a_newer_kg_is_refused(fresh_store):
    _as_older_kg_left_it(fresh_store, drop_counts=False)
    store = Store(fresh_store)
    store.raw.update(PREFIXES + 'INSERT DATA { GRAPH <%s> { <%s> kg:factsVersion %d } }'
                     % (iris.FACTS_GRAPH, iris.FACTS_GRAPH, derive.FACTS_VERSION + 1))
    store.flush()
    del store
    with pytest.raises(StaleStore, match="newer kg.*upgrade kg"):
        open_store(fresh_store)


def test_the_first_article_of_an_empty_store_marks_it(tmp_path):
    path = tmp_path / "store"
    Store(path)  # created empty: nothing to count, nothing refused
    add_article(STEM, DATA, path, validate=False)
    assert derive.stored_version(Store(path, read_only=True)) == derive.FACTS_VERSION


def test_a_recount_stopped_halfway_leaves_the_store_refused(fresh_store, monkeypatch):
    """The facts graph is changed in parts, its version marker taken away first and put back
    last: a store whose recount died between parts must not be read as current."""
    changed = Store.change
    calls = []

    def dies_halfway(self, delete, insert, *, chunk=10_000):
        calls.append(1)
        if len(calls) == 2:  # after the marker went, before the counts came
            raise KeyboardInterrupt
        return changed(self, delete, insert, chunk=chunk)

    _as_older_kg_left_it(fresh_store, drop_counts=True)
    CliRunner().invoke(cli, ["rederive", "--store", str(fresh_store)])  # now current
    open_store(fresh_store)
    monkeypatch.setattr(Store, "change", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        rederive(fresh_store)
    monkeypatch.undo()
    with pytest.raises(StaleStore, match="kg rederive"):
        open_store(fresh_store)
    rederive(fresh_store)
    open_store(fresh_store)
