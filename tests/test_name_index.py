"""The name index kept beside a store opened read-only (kg.query._index)."""

from __future__ import annotations

import json

import pytest

import kg.query as Q
import kg.store
from kg.errors import UnknownEntity
from kg.pipeline import add_article, remove_article
from kg.store import Store

from .conftest import DATA

STEM = "003_ab256062c44c36be"


def _reads(monkeypatch) -> list:
    """Count the times the index is read from a store rather than from its file."""
    calls = []
    real = Q._read_names
    monkeypatch.setattr(Q, "_read_names", lambda store: calls.append(store) or real(store))
    return calls


def _content(index):
    return index.names, index.types, index.labels, index.spelled


def test_the_next_process_reads_the_index_from_its_file(fresh_store, monkeypatch):
    calls = _reads(monkeypatch)
    first = Store(fresh_store, read_only=True)
    assert first.stamp is not None
    pompeo = Q.resolve_name(first, "the U.S. top diplomat", "actor")
    assert len(calls) == 1
    saved = Q._index_file(first)
    assert saved.is_file() and saved.parent == fresh_store.resolve().parent
    again = Store(fresh_store, read_only=True)          # what a later `kg query` opens
    assert again.stamp == first.stamp
    assert Q.resolve_name(again, "the U.S. top diplomat", "actor") == pompeo
    assert len(calls) == 1
    assert _content(Q._index(again)) == _content(Q._NameIndex(*Q._read_names(first)))
    assert Q._index(again).row_keys == Q._NameIndex(*Q._read_names(first)).row_keys


def test_a_change_to_the_store_makes_the_file_stale(fresh_store, monkeypatch):
    calls = _reads(monkeypatch)
    before = Store(fresh_store, read_only=True)
    Q._index(before)
    stamp = before.stamp
    del before
    remove_article(STEM, fresh_store)
    after = Store(fresh_store, read_only=True)
    assert after.stamp != stamp
    Q._index(after)
    assert len(calls) == 2
    add_article(STEM, DATA, fresh_store)
    assert Store(fresh_store, read_only=True).stamp not in (stamp, after.stamp)


def test_a_bad_or_foreign_file_is_read_again_not_trusted(fresh_store, monkeypatch):
    calls = _reads(monkeypatch)
    store = Store(fresh_store, read_only=True)
    Q._index(store)
    path = Q._index_file(store)
    good = json.loads(path.read_text())
    bad = [b"{not json", b"[]", json.dumps({**good, "format": 0}).encode(),
           json.dumps({**good, "rows": [["only one"]]}).encode(),
           json.dumps({**good, "types": {"x": "not a list"}}).encode(),
           json.dumps({**good, "rows": [[1, 2]]}).encode(),
           json.dumps({**good, "keys": good["keys"][:-1]}).encode(),
           json.dumps({**good, "keys": [0] * len(good["keys"])}).encode()]
    for text in bad:
        path.write_bytes(text)
        index = Q._index(Store(fresh_store, read_only=True))
        assert _content(index) == _content(Q._index(store))
        assert json.loads(path.read_text()) == good    # written again
    assert len(calls) == 1 + len(bad)


def test_a_writable_store_keeps_no_file_and_a_failed_write_is_harmless(fresh_store, monkeypatch):
    writable = Store(fresh_store)
    assert writable.stamp is None and Q._index_file(writable) is None
    Q._index(writable)
    del writable
    assert not list(fresh_store.resolve().parent.glob(".*.name-index.json"))

    def refuse(*_a, **_k):
        raise PermissionError("read-only directory")
    monkeypatch.setattr(kg.store, "write_atomic", refuse)
    store = Store(fresh_store, read_only=True)
    assert Q.resolve_name(store, "Pompeo", "actor").value.endswith("mike-pompeo")
    with pytest.raises(UnknownEntity):
        Q.resolve_name(store, "nobody at all", "actor")


def test_the_index_leaves_the_garbage_collector_nothing_to_walk(fresh_store):
    """Its lists of nodes and classes are tuples of strings, which the cyclic collector stops
    tracking once it has seen them: sets stay tracked, and at 100k articles the index's 150k
    sets made every full collection of a process holding it three times as long."""
    import gc

    index = Q._index(Store(fresh_store, read_only=True))
    gc.collect()
    held = [v for found in (index.names, index.types, index.spelled) for v in found.values()]
    assert held and all(type(v) is tuple for v in held)
    assert not any(gc.is_tracked(v) for v in held)
    assert Q.resolve_name(Store(fresh_store, read_only=True), "the U.S. top diplomat", "actor")


def test_warm_names_keeps_the_index_for_the_first_name_looked_up(fresh_store, monkeypatch):
    """`kg build`, `kg warm` and `kg serve` read the names once, so that the first question
    about a name in a later process reads the file kept beside the store, not the store."""
    from kg.errors import QueryError

    took = Q.warm_names(Store(fresh_store, read_only=True))
    assert took is not None and took > 0
    assert Q.warm_names(Store(fresh_store, read_only=True)) is None   # kept: read, not made
    calls = _reads(monkeypatch)
    assert Q.resolve_name(Store(fresh_store, read_only=True), "Pompeo", "actor")
    assert calls == []
    with Store(fresh_store) as writable, pytest.raises(QueryError, match="writing"):
        Q.warm_names(writable)
