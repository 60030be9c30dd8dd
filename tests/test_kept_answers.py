"""The query runner keeps the answers it gave until the store changes (kg.worker._Answers)."""

from __future__ import annotations

import pytest

from kg.pipeline import build, remove_article
from kg.worker import QueryRunner

from .conftest import DATA

CLAIMS = "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { GRAPH ?c { ?c a kg:Claim } }"
ACTORS = "SELECT ?a WHERE { GRAPH ?g { ?a a sem:Actor } } ORDER BY ?a LIMIT 10"


def _counting(runner) -> list:
    """The jobs that reach a worker from now on."""
    calls = []
    call = runner._call

    def counted(job):
        calls.append(job)
        return call(job)

    runner._call = counted
    return calls


@pytest.fixture(scope="module")
def runner(store_path):
    with QueryRunner(store_path, workers=1) as r:
        yield r


def test_the_same_question_asked_again_is_answered_without_a_worker(runner):
    calls = _counting(runner)
    first = runner.named("actors", {"name": "Pompeo"}, raw=True)
    again = runner.named("actors", {"name": "Pompeo"}, raw=True)
    assert again == first and len(calls) == 1
    other = runner.named("actors", {"name": "Trump"}, raw=True)
    assert other.rows != first.rows and len(calls) == 2
    assert runner.select(CLAIMS).rows == runner.select(CLAIMS).rows
    assert len(calls) == 3
    runner.select(CLAIMS + " LIMIT 1"), runner.select(" " + CLAIMS)  # other texts
    assert len(calls) == 5


def test_each_page_is_kept_apart(runner, seed_store):
    from kg.errors import ParameterError
    from kg.query import run_named

    whole = [r["actor"] for r in run_named(seed_store, "actors").rows]
    calls = _counting(runner)
    first = runner.named("actors", limit=5)
    second = runner.named("actors", limit=5, offset=5)
    assert [r["actor"] for r in first.rows] == whole[:5] and first.truncated
    assert [r["actor"] for r in second.rows] == whole[5:10]
    assert runner.named("actors", limit=5, offset=5).rows == second.rows and len(calls) == 2
    with pytest.raises(ParameterError, match="offset"):
        runner.named("actors", limit=5, offset=-5)
    assert len(calls) == 2  # refused before any worker was asked


def test_a_query_whose_answer_changes_between_runs_is_asked_each_time(runner):
    calls = _counting(runner)
    for text in ("SELECT (NOW() AS ?t) WHERE {}", "SELECT (rand () AS ?r) WHERE {}",
                 "SELECT (STRUUID() AS ?u) WHERE {}"):
        runner.select(text), runner.select(text)
    assert len(calls) == 6


def test_answers_kept_are_bounded_by_their_rows(store_path):
    with QueryRunner(store_path, workers=1, keep_rows=12) as r:
        calls = _counting(r)
        r.select(ACTORS), r.select(ACTORS)  # 10 rows: kept
        assert len(calls) == 1
        r.select(CLAIMS)  # 1 row: with ACTORS' 10, and one each for their heads, over 12
        r.select(ACTORS)
        assert len(calls) == 3
        wide = ACTORS.replace("LIMIT 10", "LIMIT 20")  # more rows than all that is kept
        r.select(wide), r.select(wide)
        assert len(calls) == 5


def test_kept_answers_go_when_the_store_changes(tmp_path):
    build(DATA, tmp_path, validate=False)
    store = tmp_path / "store"
    with QueryRunner(store, workers=1, follow_every=0) as r:
        before = r.select(CLAIMS).rows
        remove_article("003_ab256062c44c36be", store)
        after = r.select(CLAIMS).rows
        assert after != before
        assert r.select(CLAIMS).rows == after


def test_an_answer_from_before_a_change_is_not_kept_over_newer_ones():
    from kg.worker import RawResult, _Answers

    kept, one = _Answers(100), RawResult("ask", boolean=True)
    kept.put(1, ("q",), one)
    kept.put(0, ("late",), one)  # a worker of the store's earlier state answered last
    assert kept.get(1, ("q",)) is one and kept.get(0, ("late",)) is None
    kept.put(2, ("r",), one)  # a change: what was kept goes
    assert kept.get(1, ("q",)) is None and kept.get(2, ("r",)) is one
