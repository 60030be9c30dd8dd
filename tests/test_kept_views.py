"""The network views' rows kept beside a store opened read-only (kg.network._kept_rows)."""

from __future__ import annotations

import json

import networkx as nx

import kg.network as network
import kg.store
from kg.network import actor_meeting_network, actor_network
from kg.pipeline import remove_article
from kg.store import Store, kept_beside


def _fetches(monkeypatch) -> list:
    """Count the view queries run against a store rather than read from the file."""
    calls = []
    real = network.run_named_text
    monkeypatch.setattr(network, "run_named_text",
                        lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    return calls


def _same(a, b) -> bool:
    return (list(a.nodes(data=True)) == list(b.nodes(data=True))
            and list(a.edges(keys=True, data=True)) == list(b.edges(keys=True, data=True)))


def test_the_next_process_reads_the_rows_from_the_file(fresh_store, monkeypatch):
    calls = _fetches(monkeypatch)
    first = Store(fresh_store, read_only=True)
    fetched = actor_network(first)
    assert sorted(calls) == sorted(network._QUERIES)
    path = kept_beside(first, "views")
    assert path.is_file() and path.parent == fresh_store.resolve().parent
    again = Store(fresh_store, read_only=True)       # what a later `kg central` or `kg ego` opens
    assert _same(actor_network(again), fetched)
    assert isinstance(actor_meeting_network(again), nx.Graph)
    assert len(calls) == len(network._QUERIES)


def test_a_change_to_the_store_makes_the_file_stale(fresh_store, monkeypatch):
    before = Store(fresh_store, read_only=True)
    graph = actor_network(before)
    del before
    remove_article("003_ab256062c44c36be", fresh_store)
    calls = _fetches(monkeypatch)
    after = actor_network(Store(fresh_store, read_only=True))
    assert len(calls) == len(network._QUERIES)
    assert after.number_of_edges() < graph.number_of_edges()


def test_a_bad_or_foreign_file_is_fetched_again_not_trusted(fresh_store, monkeypatch):
    store = Store(fresh_store, read_only=True)
    good_graph = actor_network(store)
    path = kept_beside(store, "views")
    good = json.loads(path.read_text())
    name = "view_claims"
    rows = good["views"][name]
    bad = [b"{not json", b"[]", json.dumps({**good, "format": "views/0"}).encode(),
           json.dumps({**good, "stamp": "0" * 64}).encode(),
           json.dumps({**good, "views": {}}).encode(),
           json.dumps({**good, "views": []}).encode(),
           json.dumps({**good, "views": {**good["views"], name: "rows"}}).encode(),
           json.dumps({**good, "views": {**good["views"], name: [rows[0][:-1]]}}).encode(),
           json.dumps({**good, "views": {**good["views"], name: [[1] * len(rows[0])]}}).encode(),
           json.dumps({**good, "views": {**good["views"], name: [{"claim": "x"}]}}).encode()]
    calls = _fetches(monkeypatch)
    for text in bad:
        path.write_bytes(text)
        assert _same(actor_network(Store(fresh_store, read_only=True)), good_graph)
        assert json.loads(path.read_text()) == good    # written again
    assert len(calls) == len(bad) * len(network._QUERIES)


def test_a_writable_store_keeps_no_file_and_a_failed_write_is_harmless(fresh_store, monkeypatch):
    writable = Store(fresh_store)
    assert kept_beside(writable, "views") is None
    actor_network(writable)
    del writable
    assert not list(fresh_store.resolve().parent.glob(".*.views.json"))

    def refuse(*_a, **_k):
        raise PermissionError("read-only directory")
    monkeypatch.setattr(kg.store, "write_atomic", refuse)
    graph = actor_network(Store(fresh_store, read_only=True))
    assert graph.number_of_edges() > 0
    assert not list(fresh_store.resolve().parent.glob(".*.views.json"))
