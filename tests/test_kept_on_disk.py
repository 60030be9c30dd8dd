"""Answers kept beside a read-only store (kg.kept_answers): read back only for the question and
the state of the store they were made from, page by page; a file that is not what kg wrote is
a miss, not an error."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import kg.query as Q
from kg import kept_answers
from kg.kept_answers import KeptAnswers
from kg.pipeline import build, remove_article
from kg.query import load_queries, run_named
from kg.store import Store, kept_beside

from .conftest import DATA

sys.path.insert(0, str(Path(__file__).resolve().parent))
from samples import SAMPLES, concat_fields  # noqa: E402

LISTINGS = Q.listings()


@pytest.fixture(autouse=True)
def keeping(monkeypatch):
    """Every answer kept, however quick (the suite turns keeping off elsewhere)."""
    monkeypatch.delenv("KG_KEEP_ANSWERS", raising=False)
    monkeypatch.setenv("KG_KEEP_AFTER", "0")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """A build of its own: what is kept beside it must not reach other tests' store."""
    out = tmp_path_factory.mktemp("kept")
    build(DATA, out, validate=False)
    return out


def _open(out) -> Store:
    return Store(out / "store", read_only=True)


def _file(store) -> Path:
    return kept_beside(store, "answers", suffix=".sqlite")


def _same(name, a, b):
    """Rows equal, each GROUP_CONCAT field compared as the set of its parts (SPARQL leaves
    their order open, so two runs of the store may differ there)."""
    fields = concat_fields(load_queries()[name].text)

    def norm(rows):
        return [{k: (sorted(str(v).split(fields[k])) if k in fields and v is not None else v)
                 for k, v in row.items()} for row in rows]
    return norm(a) == norm(b)


def _not_asked(monkeypatch):
    """From now on, a question that reaches the store fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("asked of the store, not read back")
    monkeypatch.setattr(Q, "_answer", refuse)


@pytest.mark.parametrize("name,params", [(n, {}) for n in LISTINGS] +
                         [(n, SAMPLES[n]) for n in sorted(SAMPLES) if not n.startswith("view_")])
def test_every_question_read_back_is_its_answer_page_by_page(out, monkeypatch, name, params):
    fresh = run_named(_open(out), name, params, keep=False)
    run_named(_open(out), name, params)              # made, and kept
    _not_asked(monkeypatch)
    store = _open(out)                               # as a later process opens it
    again = run_named(store, name, params)
    assert again.vars == fresh.vars and _same(name, again.rows, fresh.rows)
    assert not again.truncated
    n = len(fresh.rows)
    for limit, offset in [(1, 0), (3, 1), (10, 0), (2, max(0, n - 1)), (5, n), (1, n + 2)]:
        page = run_named(store, name, params, limit=limit, offset=offset)
        assert _same(name, page.rows, again.rows[offset:offset + limit]), (limit, offset)
        assert page.truncated == (offset + limit < n), (limit, offset)


def test_first_rows_serve_the_pages_within_them_and_no_further(out, monkeypatch):
    name = "corroboration"
    store = _open(out)
    whole = run_named(store, name, keep=False)
    assert len(whole.rows) > 30
    _file(store).unlink(missing_ok=True)
    first = run_named(store, name, limit=20)          # the first 20 rows are kept
    assert first.truncated and len(first.rows) == 20
    asked = []
    answer = Q._answer
    monkeypatch.setattr(Q, "_answer", lambda *a: asked.append(a) or answer(*a))
    inside = run_named(_open(out), name, limit=5, offset=10)
    assert not asked and inside.truncated
    assert _same(name, inside.rows, whole.rows[10:15])
    edge = run_named(_open(out), name, limit=5, offset=15)   # ends at the last row kept
    assert not asked and edge.truncated and _same(name, edge.rows, whole.rows[15:20])
    beyond = run_named(_open(out), name, limit=5, offset=18)
    assert len(asked) == 1 and _same(name, beyond.rows, whole.rows[18:23])
    run_named(_open(out), name)                       # a longer answer replaces the first rows
    assert len(asked) == 2
    run_named(_open(out), name, limit=5, offset=len(whole.rows) - 2)
    assert len(asked) == 2


def test_a_changed_store_is_asked_again_and_its_old_answers_dropped(tmp_path):
    build(DATA, tmp_path, validate=False)
    before = _open(tmp_path)
    kept_before = run_named(before, "noshows")
    assert KeptAnswers.beside(before).get(
        KeptAnswers.key(Q.named_query("noshows").text, {}), 0, None) is not None
    stem = sorted(p.stem for p in (DATA / "articles").glob("*.txt"))[0]
    before.close()
    remove_article(stem, tmp_path / "store")
    after = _open(tmp_path)
    assert after.stamp != before.stamp
    now = run_named(after, "noshows")
    assert now.rows == run_named(after, "noshows", keep=False).rows
    assert now.rows != kept_before.rows               # the article's no-show is gone
    with sqlite3.connect(_file(after)) as db:         # emptied for the new state
        assert dict(db.execute("SELECT k, v FROM meta"))["stamp"] == after.stamp
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1


def test_a_damaged_or_edited_file_is_not_trusted(out, monkeypatch):
    store = _open(out)
    path = _file(store)
    path.unlink(missing_ok=True)
    expected = run_named(store, "met", keep=False)
    run_named(store, "met")                     # kept, and read through a held connection
    path.write_bytes(b"not a database, but something else entirely" * 100)
    assert _same("met", run_named(store, "met").rows, expected.rows)   # asked, then kept anew
    with monkeypatch.context() as m:            # the file made again is read by the same store
        m.setattr(Q, "_answer", lambda *a: (_ for _ in ()).throw(AssertionError("asked")))
        assert _same("met", run_named(store, "met").rows, expected.rows)
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM rows WHERE n = 1")                       # a row taken out
    asked = []
    answer = Q._answer
    monkeypatch.setattr(Q, "_answer", lambda *a: asked.append(a) or answer(*a))
    assert _same("met", run_named(_open(out), "met").rows, expected.rows)
    assert len(asked) == 1


def test_quick_answers_writable_stores_and_keep_false_leave_nothing(out, tmp_path, monkeypatch):
    store = _open(out)
    _file(store).unlink(missing_ok=True)
    run_named(store, "noshows", keep=False)
    assert not _file(store).exists()
    monkeypatch.setenv("KG_KEEP_AFTER", "60")
    run_named(store, "noshows")                       # quicker than a minute
    assert not _file(store).exists()
    monkeypatch.setenv("KG_KEEP_AFTER", "0")
    monkeypatch.setenv("KG_KEEP_ANSWERS", "off")
    assert KeptAnswers.beside(store) is None
    monkeypatch.delenv("KG_KEEP_ANSWERS")
    build(DATA, tmp_path, validate=False)
    writable = Store(tmp_path / "store")
    assert KeptAnswers.beside(writable) is None and writable.stamp is None


def test_the_oldest_answers_go_first_past_the_bound(out, monkeypatch):
    store = _open(out)
    _file(store).unlink(missing_ok=True)
    run_named(store, "disputes")
    run_named(store, "figures")
    with sqlite3.connect(_file(store)) as db:
        sizes = dict(db.execute("SELECT name, bytes FROM answers"))
        assert sizes["figures"] == db.execute(
            "SELECT SUM(LENGTH(CAST(data AS BLOB))) FROM rows JOIN answers USING (key) "
            "WHERE name = 'figures'").fetchone()[0]
    _file(store).unlink()
    monkeypatch.setattr(kept_answers, "MAX_BYTES", sum(sizes.values()) - 1)
    run_named(store, "disputes")
    run_named(store, "figures")
    with sqlite3.connect(_file(store)) as db:
        assert [r[0] for r in db.execute("SELECT name FROM answers")] == ["figures"]
    monkeypatch.setattr(kept_answers, "MAX_BYTES", 10)
    run_named(_open(out), "noshows")   # over the bound alone: not kept, nothing dropped
    with sqlite3.connect(_file(store)) as db:
        assert [r[0] for r in db.execute("SELECT name FROM answers")] == ["figures"]


def test_a_later_process_reads_the_answer_back(out):
    """Through the CLI, as a user asks twice: the second ``kg query`` reads the kept rows."""
    store = _open(out)
    _file(store).unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "kg.cli", "query", "met", "--limit", "3",
           "--store", str(out / "store"), "--format", "json"]
    env = {**__import__("os").environ, "KG_KEEP_AFTER": "0"}
    env.pop("KG_KEEP_ANSWERS", None)
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    with sqlite3.connect(_file(store)) as db:
        assert db.execute("SELECT name, rows, complete FROM answers").fetchall() == [
            ("met", 3, 0)]
        db.execute("UPDATE rows SET data = replace(data, 'Pompeo', 'Pompeo (kept)')")
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    assert "Pompeo" in first and "(kept)" not in first
    assert second == first.replace("Pompeo", "Pompeo (kept)")


def test_a_locked_file_is_left_alone_and_another_layout_made_again(out):
    store = _open(out)
    path = _file(store)
    path.unlink(missing_ok=True)
    expected = run_named(store, "disputes", keep=False)
    run_named(store, "figures")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")              # another process is writing to it
    try:
        assert _same("disputes", run_named(store, "disputes").rows, expected.rows)
    finally:
        other.execute("ROLLBACK")
        other.close()
    with sqlite3.connect(path) as db:             # not thrown away: only this answer not kept
        assert [r[0] for r in db.execute("SELECT name FROM answers")] == ["figures"]
        db.execute("UPDATE meta SET v = 'kg-kept-answers/0' WHERE k = 'format'")
        db.execute("ALTER TABLE answers DROP COLUMN bytes")
    assert _same("disputes", run_named(_open(out), "disputes").rows, expected.rows)
    with sqlite3.connect(path) as db:
        assert [r[0] for r in db.execute("SELECT name FROM answers")] == ["disputes"]


def test_kg_serve_workers_keep_and_read_back_the_same_file(out):
    """A `kg serve` worker asks through run_named too: what it keeps, a later `kg query` reads,
    and the other way round."""
    from kg.worker import QueryRunner

    store = _open(out)
    path = _file(store)
    path.unlink(missing_ok=True)
    expected = run_named(store, "pledges", keep=False)
    with QueryRunner(out / "store", workers=1) as runner:
        served = runner.named("pledges", limit=5)
    assert _same("pledges", served.rows, expected.rows[:5]) and served.truncated
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name, rows, complete FROM answers").fetchall() == [
            ("pledges", 5, 0)]
    run_named(_open(out), "noshows")                  # kept by this process
    with sqlite3.connect(path) as db:                 # marked, to tell it from the store's
        db.execute("UPDATE rows SET data = replace(data, 'Planning meeting', 'Kept meeting')")
    with QueryRunner(out / "store", workers=1) as runner:
        again = runner.named("noshows")
    labels = {str(row["meetingLabel"]) for row in again.rows}
    assert "Kept meeting before the Singapore summit" in labels


def test_names_are_not_looked_up_again_nor_pages_checked_twice(out, monkeypatch):
    """Asked again with the same words, a question is read back before its names are resolved
    (in a later process that would read the whole name index first); a bad page is still an
    error, and other words for the same actor are another question."""
    from kg.errors import ParameterError

    store = _open(out)
    _file(store).unlink(missing_ok=True)
    first = run_named(store, "meetings", {"actor": "Pompeo"})
    monkeypatch.setattr(Q, "_bind", lambda *a: (_ for _ in ()).throw(AssertionError("bound")))
    again = run_named(_open(out), "meetings", {"actor": "Pompeo"})
    assert _same("meetings", again.rows, first.rows)
    with pytest.raises(ParameterError):
        run_named(_open(out), "meetings", {"actor": "Pompeo"}, limit=0)
    with pytest.raises(AssertionError, match="bound"):
        run_named(_open(out), "meetings", {"actor": "Mike Pompeo"})


def test_listings_are_the_questions_asked_without_parameters():
    expected = sorted(name for name, q in load_queries().items()
                      if not name.startswith("view_") and all(p.optional for p in q.params))
    assert LISTINGS == expected and "met" in LISTINGS and "meetings" not in LISTINGS


def test_warm_keeps_each_listings_first_page_for_a_later_process(tmp_path, monkeypatch):
    build(DATA, tmp_path, validate=False)
    store = _open(tmp_path)
    fresh = {n: run_named(store, n, limit=3, keep=False) for n in LISTINGS}
    done = Q.warm(store, rows=3)
    assert [w.name for w in done] == LISTINGS
    assert all(w.made and w.kept and w.seconds > 0 for w in done)
    assert [w.rows for w in done] == [len(fresh[n].rows) for n in LISTINGS]
    assert sum(f.truncated for f in fresh.values()) >= 8  # most have more than 3 rows
    _not_asked(monkeypatch)
    later = _open(tmp_path)                          # as a later process opens it
    for name in LISTINGS:
        page = run_named(later, name, limit=3)
        assert page.truncated == fresh[name].truncated, name
        assert _same(name, page.rows, fresh[name].rows), name
        assert _same(name, run_named(later, name, limit=2, offset=1).rows,
                     fresh[name].rows[1:3]), name
    again = Q.warm(later, ["met", "actors"], rows=3)  # kept already: not made again
    assert [(w.name, w.made, w.kept, w.rows) for w in again] == [
        ("met", False, True, 3), ("actors", False, True, 3)]


def test_warm_keeps_nothing_quick_and_nothing_after_the_store_changes(tmp_path, monkeypatch):
    build(DATA, tmp_path, validate=False)
    monkeypatch.setenv("KG_KEEP_AFTER", "1000")
    quick = Q.warm(_open(tmp_path), ["noshows"])
    assert [(w.made, w.kept) for w in quick] == [(True, False)]
    assert not _file(_open(tmp_path)).exists()
    monkeypatch.setenv("KG_KEEP_AFTER", "0")
    before = _open(tmp_path)
    assert Q.warm(before, ["noshows"])[0].kept
    before.close()
    stem = sorted(p.stem for p in (DATA / "articles").glob("*.txt"))[0]
    remove_article(stem, tmp_path / "store")
    after = _open(tmp_path)
    assert [(w.made, w.kept) for w in Q.warm(after, ["noshows"])] == [(True, True)]
    assert run_named(after, "noshows", limit=20).rows == \
        run_named(after, "noshows", limit=20, keep=False).rows


def test_warm_refuses_what_it_cannot_keep_or_ask(out, tmp_path, monkeypatch):
    from kg.errors import ParameterError, QueryError

    store = _open(out)
    with pytest.raises(QueryError) as error:
        Q.warm(store, ["met", "meetings"])            # meetings needs its actor
    assert error.value.item == "meetings" and "met" in str(error.value)
    with pytest.raises(ParameterError, match="limit"):
        Q.warm(store, rows=0)
    build(DATA, tmp_path, validate=False)
    with Store(tmp_path / "store") as writable, pytest.raises(QueryError, match="writing"):
        Q.warm(writable)
    monkeypatch.setenv("KG_KEEP_ANSWERS", "off")
    with pytest.raises(QueryError, match="KG_KEEP_ANSWERS=off"):
        Q.warm(store)


def test_kg_build_warms_unless_told_not_to_and_kg_warm_says_what_it_kept(tmp_path):
    from click.testing import CliRunner

    from kg.cli import cli

    runner = CliRunner()
    out = tmp_path / "build"
    built = runner.invoke(cli, ["build", "--data", str(DATA), "--out", str(out),
                                "--no-validate"])
    assert built.exit_code == 0, built.output
    assert f"{len(LISTINGS)} made and kept beside the store" in built.output
    assert "name index: read from the store and kept beside it" in built.output
    assert all(KeptAnswers.beside(_open(out)).get(
        KeptAnswers.key(Q.named_query(n).text, None), 0, 20) is not None for n in LISTINGS)
    plain = runner.invoke(cli, ["build", "--data", str(DATA), "--out", str(out),
                                "--no-validate", "--no-warm"])
    assert plain.exit_code == 0 and "listings" not in plain.output
    warmed = runner.invoke(cli, ["warm", "met", "--rows", "2", "--store", str(out / "store")])
    assert warmed.exit_code == 0, warmed.output
    assert "1 made and kept" in warmed.output and "    met" in warmed.output
    assert "name index: read from the store" in warmed.output   # a new build: not kept yet
    again = runner.invoke(cli, ["warm", "met", "--rows", "2", "--store", str(out / "store")])
    assert "1 kept already" in again.output and "name index: kept already" in again.output
    wrong = runner.invoke(cli, ["warm", "pledge_status", "--store", str(out / "store")])
    assert wrong.exit_code == 1 and "pledge_status: not a listing" in wrong.output
    missing = runner.invoke(cli, ["warm", "--store", str(tmp_path / "nothing")])
    assert missing.exit_code == 1 and "nothing" in missing.output


def test_kg_serve_keeps_the_listings_first_pages_made_as_the_store_changes(tmp_path,
                                                                              monkeypatch):
    """A runner told to warm (as `kg serve` is by default) keeps every listing's first page
    when it starts, and again for the store's new state after `kg remove` or `kg add`, once
    the store has stayed unchanged for `warm_settle` seconds; a later process reads them back.
    Its workers follow the change without waiting for a question."""
    from kg.pipeline import add_article
    from kg.worker import NAME_INDEX, QueryRunner

    build(DATA, tmp_path, validate=False)
    stem = sorted(p.stem for p in (DATA / "articles").glob("*.txt"))[0]
    with QueryRunner(tmp_path / "store", workers=1, warm=True, follow_every=0.1,
                     warm_settle=3.0) as runner:
        assert runner.wait_warm(1, timeout=120)
        epoch, done = runner.warmed
        assert epoch == 0 and [name for name, _s, _kept in done] == LISTINGS + [NAME_INDEX]
        assert all(kept for _n, _s, kept in done)
        first = _open(tmp_path)
        first_keys = {n: KeptAnswers.key(Q.named_query(n).text, None) for n in LISTINGS}
        assert all(KeptAnswers.beside(first).get(first_keys[n], 0, Q.WARM_ROWS)
                   for n in LISTINGS)
        first.close()
        pids = runner.worker_pids
        remove_article(stem, tmp_path / "store")      # two changes in a row: one warm, after
        add_article(stem, DATA, tmp_path / "store", validate=False)
        assert runner.wait_warm(2, timeout=120)
        epoch, done = runner.warmed
        assert epoch == runner._epoch >= 1           # the state after both changes
        assert isinstance(done, list) and all(kept for _n, _s, kept in done)
        # its workers were replaced when the change was seen, before any question came
        assert runner.wait_idle(60) and set(runner.worker_pids).isdisjoint(pids)
        later = _open(tmp_path)
        assert Q._saved_index(later) is not None      # and its names, read from the file
        _not_asked(monkeypatch)
        for name in LISTINGS:
            page = run_named(later, name, limit=Q.WARM_ROWS)
            assert page.rows, name
        assert runner.named("actors", limit=3).rows      # the pool answered all along
        assert not runner.wait_warm(3, timeout=1.0)      # one warm for one state


def test_a_runner_warms_only_when_asked_and_reports_a_warm_it_cannot_do(out, monkeypatch):
    from kg.worker import QueryRunner

    with QueryRunner(out / "store", workers=1) as runner:
        assert not runner.wait_warm(1, timeout=0.5) and runner.warmed is None
    monkeypatch.setenv("KG_KEEP_ANSWERS", "off")
    with QueryRunner(out / "store", workers=1, warm=True, follow_every=0.1) as runner:
        assert runner.wait_warm(1, timeout=120)
        assert "KG_KEEP_ANSWERS=off" in runner.warmed[1]
        assert runner.named("noshows").rows


def test_every_kind_of_term_is_read_back_as_it_was_kept(out):
    from rdflib import BNode, Literal, URIRef
    from rdflib.namespace import XSD

    store = _open(out)
    kept = KeptAnswers.beside(store)
    values = [URIRef("https://x/kim"), Literal("u:not an IRI"), Literal("a b: c"),
              Literal(""), Literal("Kim", lang="ko"), Literal("two words", lang="en-GB"),
              Literal("2018-06-12", datatype=XSD.date), Literal("2018-02-30", datatype=XSD.date),
              Literal("24", datatype=XSD.integer), Literal("1.5", datatype=XSD.decimal),
              Literal("x y", datatype=URIRef("urn:dt")), BNode("b1"), None]
    rows = [{"v": v, "w": values[0]} for v in values]
    assert kept.put("every kind", "test", ["v", "w"], rows, complete=True)
    names, back, truncated = kept.get("every kind", 0, None)
    assert (names, truncated) == (["v", "w"], False)
    assert back == rows
    for ours, theirs in zip(back, rows):
        assert type(ours["v"]) is type(theirs["v"])
        if isinstance(theirs["v"], Literal):
            assert ours["v"].eq(theirs["v"])
            assert (ours["v"].language, ours["v"].datatype) == (
                theirs["v"].language, theirs["v"].datatype)
    # a tag with a space cannot be written in this form: the answer is not kept, not garbled
    odd = Literal("x", datatype=URIRef("urn:a b"))
    assert not kept.put("odd", "test", ["v"], [{"v": odd}], complete=True)
    assert kept.get("odd", 0, None) is None
