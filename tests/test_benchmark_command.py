"""The benchmark command still runs as `benchmarks/README.md` documents it.

The benchmarks are not part of the test suite: their figures depend on the machine and are
read, not asserted. But the command must not rot between the runs that read them. Its smoke
run (`--quick`, at one small size) has to end without error, with every phase answered, the
table and the targets printed and every figure written as JSON. Nothing here is timed: a
figure is checked to be there and to be a number, never against a target.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIZE = 200
PHASES = ("build", "build_validated", "raw", "name_index", "queries", "baseline", "network", "add")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # every answer kept, however quick (at 200 articles few take the 10 ms that keeps one), so
    # that reading each back in a process of its own is run too
    env = dict(os.environ, KG_KEEP_AFTER="0")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--sizes", str(SIZE),
         "--out", str(out / "results"), "--corpora", str(out / "corpora")],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    return done, out / "results"


def test_the_smoke_run_ends_without_error(smoke):
    done, _ = smoke
    assert done.returncode == 0, done.stderr[-3000:]
    failed = [line for line in (done.stdout + done.stderr).splitlines()
              if " failed" in line or "Traceback" in line or " ERROR " in line]
    assert not failed, failed


def test_it_prints_the_table_and_the_targets(smoke):
    done, _ = smoke
    text = done.stdout
    assert f"== {SIZE:,} articles" in text
    assert f"== targets at {SIZE:,} articles" in text
    for target in ("every named question p95 <= 10 ms", "build >= 100,000 quads/s",
                   "build >= 5x plain rdflib", "memory <= 500 MB per million quads",
                   "kg add of one article <= 100 ms", "engine floor"):
        assert target in text, target
    assert "build (validate=True)" in text and "ms/article" in text
    assert "the most any build could reach on these cores" in text
    if hasattr(os, "RWF_NOWAIT"):  # asked of the page cache where it can be
        assert "corpus in the page cache as the build started: " in text


def test_every_phase_writes_its_figures(smoke):
    _, results = smoke
    figures = json.loads((results / "latest.json").read_text())["sizes"][str(SIZE)]
    for phase in PHASES:
        assert isinstance(figures.get(phase), dict) and "error" not in figures[phase], phase
    assert figures["build"]["quads_per_s"] > 0
    assert figures["raw"]["quads_per_s"] > 0
    assert figures["build"]["quads"] == figures["raw"]["quads"]
    floor = figures["raw"]["input_floor"]  # the corpus read: an article's three files each
    assert floor["files"] == 3 * SIZE and floor["cpu_s"] > 0
    assert figures["baseline"]["quads"] == figures["build"]["quads"]
    assert figures["add"]["cli_ok"]
    by_paths = figures["network"]["by_paths"]  # igraph comes with the test extras
    assert by_paths["engine"] == "igraph"
    for m in ("betweenness", "closeness"):
        assert by_paths[m]["networkx_s"] >= 0 and by_paths[m]["max_diff"] < 1e-9, m


def test_every_named_question_is_timed(smoke):
    from kg.query import load_queries

    _, results = smoke
    queries = json.loads((results / "latest.json").read_text())["sizes"][str(SIZE)]["queries"]
    asked = {row["query"] for row in queries["queries"]}
    assert asked == set(load_queries())
    for row in queries["queries"]:
        assert row.get("p50_ms", -1) >= 0 and row["p95_ms"] >= row["p50_ms"], row
    for key, floor in queries["floors"].items():
        assert floor["rows"] > 0 and floor["p50_ms"] >= 0, key


def test_every_question_is_asked_again_with_answers_kept(smoke):
    from kg.query import load_queries

    _, results = smoke
    queries = json.loads((results / "latest.json").read_text())["sizes"][str(SIZE)]["queries"]
    kept = {k: x for k, x in queries["kept"].items() if isinstance(x, dict)}
    assert {k.split(" [")[0] for k in kept} == {n for n in load_queries()
                                                if not n.startswith("view_")}
    assert any(k.endswith("first page") for k in kept)
    for key, x in kept.items():
        assert "error" not in x and isinstance(x["kept"], bool), key
        assert x["first_ms"] >= 0 and x["p95_ms"] >= x["p50_ms"] >= 0, key


def test_each_kept_answer_is_read_back_in_a_process_of_its_own(smoke):
    done, results = smoke
    queries = json.loads((results / "latest.json").read_text())["sizes"][str(SIZE)]["queries"]
    kept = {k for k, x in queries["kept"].items() if isinstance(x, dict) and x.get("kept")}
    alone = queries["kept_alone"]
    assert kept and set(alone) == kept
    for key, x in alone.items():
        assert x["n"] >= 1 and x["p95_ms"] >= x["p50_ms"] >= 0, key
    assert "each read back in a process of its own" in done.stdout


def test_a_run_of_some_phases_leaves_the_latest_table_as_it_was(smoke):
    """``--phases`` measures part of a run: it is written to its own results file (and printed),
    not over the whole table the last full run left in ``latest.*``."""
    done, results = smoke
    assert done.returncode == 0
    before = {name: (results / name).read_bytes() for name in ("latest.json", "latest.txt")}
    runs = set(results.glob("results-*.json"))
    part = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--sizes", str(SIZE),
         "--phases", "raw", "--out", str(results), "--corpora", str(results.parent / "corpora")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert part.returncode == 0, part.stderr[-3000:]
    assert {name: (results / name).read_bytes() for name in before} == before
    (new,) = set(results.glob("results-*.json")) - runs
    assert json.loads(new.read_text())["sizes"][str(SIZE)]["raw"]["quads_per_s"] > 0
    assert "latest.json left as they were" in part.stdout


def test_rdflibs_writes_are_cut_at_their_bound(smoke):
    """rdflib's TriG writer grows faster than the number of graphs (hours at 100k articles):
    each write stops at ``--rdflib-write-bound``, counts as the bound, and says it was cut."""
    _, results = smoke
    runs = set(results.glob("results-*.json"))
    part = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--sizes", str(SIZE),
         "--phases", "baseline", "--rdflib-write-bound", "0.0001", "--out", str(results),
         "--corpora", str(results.parent / "corpora")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert part.returncode == 0, part.stderr[-3000:]
    (new,) = set(results.glob("results-*.json")) - runs
    base = json.loads(new.read_text())["sizes"][str(SIZE)]["baseline"]
    assert base["rdflib_write_cut"] == ["kg.nq", "kg.trig"]
    assert base["rdflib_write_nq_s"] == base["rdflib_write_trig_s"] == 0.0001
    assert "kg.nq > 0.0001 s (cut), kg.trig > 0.0001 s (cut)" in part.stdout
