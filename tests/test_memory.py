"""Cyclic garbage collection paused for a call's length (kg.memory), and given back after."""

from __future__ import annotations

import gc
import weakref

import pytest

from kg.memory import paused_gc


def test_a_pause_ends_with_its_block_even_on_an_error():
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with paused_gc():
            assert not gc.isenabled()
            raise ValueError("inside")
    assert gc.isenabled()


def test_nested_pauses_leave_collection_as_the_outermost_found_it():
    with paused_gc():
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause does not end the outer one
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # a caller that had turned it off keeps it off
    finally:
        gc.enable()


def test_as_a_decorator_each_call_pauses():
    seen = []

    @paused_gc()
    def make():
        seen.append(gc.isenabled())
        return [{"n": i} for i in range(10)]

    assert make() == make()
    assert seen == [False, False] and gc.isenabled()


def test_cycles_made_during_a_pause_are_collected_after_it():
    class Node:
        pass

    with paused_gc():
        a, b = Node(), Node()
        a.other, b.other = b, a
        left = weakref.ref(a)
        del a, b
        assert left() is not None  # a cycle: reference counting cannot free it
    gc.collect()
    assert left() is None


def test_the_library_gives_collection_back(tmp_path):
    """The views, a page, a query's rows and the name index are made with collection paused;
    each call gives it back."""
    from kg import html, network
    from kg.pipeline import DEFAULT_DATA, build
    from kg.query import resolve_name, run_named
    from kg.store import Store

    build(DEFAULT_DATA, tmp_path, validate=False)
    store = Store(tmp_path / "store", read_only=True)
    view = network.actor_network(store)
    assert gc.isenabled()
    network.centrality(view, "betweenness")
    network.connecting_chains(store, "Moon Jae-in", "Kim Jong Un")
    html.render_html(network.ego_network(view, resolve_name(store, "Kim Jong Un").value, 1),
                     store, title="ego")
    assert run_named(store, "noshows").rows
    assert gc.isenabled()


def test_a_build_gives_collection_back_when_it_fails(tmp_path):
    """A build pauses collection while it loads (its facts pile up); an article that fails
    its checks midway still leaves collection running."""
    import shutil

    from kg.errors import KGError
    from kg.pipeline import DEFAULT_DATA, build

    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA, data)
    claims = sorted((data / "claims").glob("*.yaml"))[-1]
    claims.write_text(claims.read_text().replace("quote:", "quote: 'not in the article' #", 1))
    with pytest.raises(KGError):
        build(data, tmp_path / "out", validate=False)
    assert gc.isenabled()
