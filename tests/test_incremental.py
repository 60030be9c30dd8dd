"""Issue 5: `kg add` / `kg remove` on the persistent store, without a rebuild."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest
import yaml

from kg.derive import rebuild, replace_article
from kg.errors import ArticleError, QuoteNotFound, StoreBusy, StoreError
from kg.pipeline import (ONTOLOGY_PATH, add_article, add_articles, build, load_corpus,
                         remove_article, remove_articles)
from kg.store import Store

from .conftest import DATA

STEMS = ("000_8613253b72fdd089", "003_ab256062c44c36be", "004_eeebe7db95067d8f")


def quads(path):
    return set(Store(path, read_only=True).quads())


def test_remove_then_add_gives_back_the_full_build(build_dir, tmp_path):
    build(DATA, tmp_path, validate=False)
    store = tmp_path / "store"
    full = quads(build_dir / "store")
    assert quads(store) == full
    for stem in STEMS:
        remove_article(stem, store)
    left = quads(store)
    assert not any("/claim/" in str(q[3]) or "/graph/article/" in str(q[3]) for q in left)
    for stem in STEMS:
        add_article(stem, DATA, store)
    assert quads(store) == full


def test_adding_twice_changes_nothing(build_dir, tmp_path):
    build(DATA, tmp_path, validate=False)
    store = tmp_path / "store"
    first = add_article(STEMS[1], DATA, store)
    again = add_article(STEMS[1], DATA, store)
    assert first["store_change"] == again["store_change"] == 0
    assert quads(store) == quads(build_dir / "store")


def test_store_change_is_what_the_store_gained(tmp_path):
    """add_article reports the change in the store's size, counted without a full scan."""
    build(DATA, tmp_path, validate=False)
    store = tmp_path / "store"
    full = len(Store(store, read_only=True))
    remove_article(STEMS[2], store)
    smaller = len(Store(store, read_only=True))
    done = add_article(STEMS[2], DATA, store, validate=False)
    assert done["store_change"] == full - smaller > 0
    out = subprocess.run([sys.executable, "-m", "kg.cli", "add", STEMS[2], "--store", str(store),
                          "--no-validate"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"added {STEMS[2]}: 33 claims" in out.stdout and "the store holds as many quads as before" in out.stdout
    assert "`kg warm` to keep the first pages and the name index made" in out.stdout
    out = subprocess.run([sys.executable, "-m", "kg.cli", "remove", STEMS[2], "--store",
                          str(store)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"removed {STEMS[2]}: " in out.stdout and "run `kg warm`" in out.stdout


def test_an_edited_claim_replaces_exactly_its_graph(data_copy, tmp_path):
    build(data_copy, tmp_path, validate=False)
    store = tmp_path / "store"
    before = {q[3] for q in quads(store)}
    path = data_copy / "claims" / f"{STEMS[0]}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    claim = next(c for c in doc["claims"] if c["id"] == "we-were-ready")
    claim["statement"]["stance"] = "supportive"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    add_article(STEMS[0], data_copy, store)
    after = {q[3] for q in quads(store)}
    assert len(before - after) == 1 and len(after - before) == 1


def test_invalid_article_leaves_the_store_unchanged(data_copy, tmp_path):
    build(data_copy, tmp_path, validate=False)
    store = tmp_path / "store"
    before = quads(store)
    path = data_copy / "claims" / f"{STEMS[2]}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["claims"][-1]["quote"] = "about 7,701 are still considered missing"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(QuoteNotFound, match="unaccounted-7700"):
        add_article(STEMS[2], data_copy, store)
    assert quads(store) == before


def test_several_articles_in_one_add_equal_adding_them_one_by_one(build_dir, tmp_path):
    """One update for all: the facts two of them report get the outlets of both."""
    build(DATA, tmp_path, validate=False)
    store = tmp_path / "store"
    full = len(Store(store, read_only=True))
    for stem in STEMS:
        remove_article(stem, store)
    smaller = len(Store(store, read_only=True))
    done = add_articles([STEMS[0], STEMS[1], STEMS[0]], DATA, store)
    assert [a["article"] for a in done["articles"]] == [STEMS[0], STEMS[1]]
    assert all(a["graphs_added"] > 0 and a["graphs_removed"] == 0 for a in done["articles"])
    out = subprocess.run([sys.executable, "-m", "kg.cli", "add", STEMS[2], STEMS[1], "--store",
                          str(store), "--no-validate"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("added ") == 2 and f"added {STEMS[2]}: 33 claims" in out.stdout
    assert quads(store) == quads(build_dir / "store")
    assert len(Store(store, read_only=True)) == full > smaller
    with pytest.raises(ValueError, match="no article"):
        add_articles([], DATA, store)


def test_one_invalid_article_keeps_the_whole_add_out(data_copy, tmp_path):
    build(data_copy, tmp_path, validate=False)
    store = tmp_path / "store"
    remove_article(STEMS[0], store)
    before = quads(store)
    path = data_copy / "claims" / f"{STEMS[2]}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["claims"][-1]["quote"] = "about 7,701 are still considered missing"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "kg.cli", "add", STEMS[0], STEMS[2], "--data",
                          str(data_copy), "--store", str(store)], capture_output=True, text=True)
    assert out.returncode == 1 and f"{STEMS[2]}.yaml" in out.stderr
    assert "unaccounted-7700" in out.stderr and "Traceback" not in out.stderr
    assert quads(store) == before


def test_several_articles_out_in_one_remove_equal_removing_them_one_by_one(tmp_path):
    build(DATA, tmp_path / "a", validate=False)
    build(DATA, tmp_path / "b", validate=False)
    one_by_one, together = tmp_path / "a" / "store", tmp_path / "b" / "store"
    for stem in STEMS[:2]:
        remove_article(stem, one_by_one)
    out = subprocess.run([sys.executable, "-m", "kg.cli", "remove", STEMS[0], STEMS[1],
                          STEMS[0], "--store", str(together)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("removed ") == 2
    assert quads(together) == quads(one_by_one)
    # one stem the store does not hold: nothing is removed
    before = quads(together)
    with pytest.raises(ArticleError, match=f"{STEMS[1]}: the store holds no such article"):
        remove_articles([STEMS[2], STEMS[1]], together)
    assert quads(together) == before
    assert remove_articles([STEMS[2]], together) == {STEMS[2]: 34}


def test_a_second_writer_gets_store_busy(tmp_path):
    build(DATA, tmp_path, validate=False)
    store = tmp_path / "store"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from kg.store import Store
        s = Store({str(store)!r})
        print("open", flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreBusy, match="busy"):
            add_article(STEMS[0], DATA, store)
        out = subprocess.run([sys.executable, "-m", "kg.cli", "add", STEMS[0], "--store",
                              str(store)], capture_output=True, text=True)
        assert out.returncode == 1 and "store is busy" in out.stderr
        assert "Traceback" not in out.stderr
        # readers are not blocked by a writer
        assert len(Store(store, read_only=True)) > 0
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    add_article(STEMS[0], DATA, store)


def test_a_failed_change_lets_go_of_the_store_while_its_error_is_kept(tmp_path):
    # the error's traceback holds the frames that opened the store; the store must be closed
    # all the same, or the next writer of this process (a notebook) is refused as busy
    build(DATA, tmp_path, validate=False)
    store = tmp_path / "store"
    with pytest.raises(ArticleError) as kept:
        remove_article("999_nope", store)
    assert kept.value is not None
    add_article(STEMS[0], DATA, store)
    held = Store(store)
    held.close()
    with Store(store) as again:  # its lock was released by close()
        assert len(again) > 0
    with pytest.raises(StoreError, match="closed"):
        held.raw.query("ASK {}")


def test_remove_unknown_article_is_an_error(tmp_path):
    build(DATA, tmp_path, validate=False)
    out = subprocess.run([sys.executable, "-m", "kg.cli", "remove", "999_nope", "--store",
                          str(tmp_path / "store")], capture_output=True, text=True)
    assert out.returncode == 1 and "999_nope: the store holds no such article" in out.stderr


def test_optimize_compacts_without_changing_what_the_store_holds(tmp_path):
    build(DATA, tmp_path, validate=False)
    store = tmp_path / "store"
    remove_article(STEMS[1], store)
    add_article(STEMS[1], DATA, store)
    before = quads(store)
    out = subprocess.run([sys.executable, "-m", "kg.cli", "optimize", "--store", str(store)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert quads(store) == before
    assert "compacted" in out.stdout
    missing = subprocess.run([sys.executable, "-m", "kg.cli", "optimize", "--store",
                              str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert missing.returncode == 1 and "nowhere: no store here" in missing.stderr


@pytest.mark.parametrize("command", [["add", STEMS[0], "--data", str(DATA)],
                                     ["remove", STEMS[0]], ["optimize"], ["rederive"],
                                     ["import", str(ONTOLOGY_PATH), "--graph",
                                      "https://example.org/reference"]])
@pytest.mark.parametrize("parent", ["typo", "."])
def test_changes_refuse_a_path_that_holds_no_store_and_create_nothing(tmp_path, command,
                                                                      parent):
    where = tmp_path / parent / "store"
    out = subprocess.run([sys.executable, "-m", "kg.cli", *command, "--store", str(where)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "store: no store here: run `kg build` first" in out.stderr
    assert not where.exists() and list(tmp_path.iterdir()) == []


def test_kg_import_adds_reference_rdf_and_refuses_unsafe_formats(tmp_path):
    build(DATA, tmp_path / "out", validate=False)
    store = str(tmp_path / "out" / "store")
    good = tmp_path / "ref.ttl"
    good.write_text('<http://example.org/a> <http://www.w3.org/2000/01/rdf-schema#label> "A" .\n')
    bad = tmp_path / "ref.rdf"
    bad.write_text('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
                   'syntax-ns#"/>')

    def kg(*args):
        return subprocess.run([sys.executable, "-m", "kg.cli", *args, "--store", store],
                              capture_output=True, text=True)

    out = kg("import", str(good), "--graph", "http://example.org/ref")
    assert out.returncode == 0 and "imported 1 triples" in out.stdout
    out = kg("import", str(bad), "--graph", "http://example.org/ref")
    assert out.returncode == 1 and "RDF/XML is refused" in out.stderr
    out = kg("import", str(good), "--graph", "https://w3id.org/newskg/id/graph/entities")
    assert out.returncode == 1 and "project's own IRI space" in out.stderr
    assert "Traceback" not in out.stderr


def test_per_process_caches_follow_changes_made_through_the_store(tmp_path):
    """Views and the name index are cached per store and version, never by a full scan."""
    from kg.network import actor_network
    from kg.pipeline import article_bundle, corpus_quads
    from kg.query import resolve_name

    corpus = load_corpus(DATA)
    store = Store()
    store.add(corpus_quads(load_corpus(DATA, only=["000_8613253b72fdd089"]), validate=False))
    rebuild(store)  # filled by hand: its facts are counted before an article is replaced
    before = actor_network(store)
    assert actor_network(store) is not None and "Mike Pence" not in {
        d["label"] for _n, d in before.nodes(data=True)}
    version = store.version
    replace_article(store, "004_eeebe7db95067d8f", article_bundle(corpus, "004_eeebe7db95067d8f"))
    assert store.version > version
    after = actor_network(store)
    assert "Mike Pence" in {d["label"] for _n, d in after.nodes(data=True)}
    assert resolve_name(store, "Pence", "actor").value.endswith("mike-pence")
