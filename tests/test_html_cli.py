"""`kg html` writes one self-contained page for the whole graph or any view, and nothing else."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from kg.network import result_network
from kg.query import run_named


def kg(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


@pytest.mark.parametrize("view", [
    [], ["--ego", "Pompeo", "--radius", "2"], ["--view", "meetings"],
    ["--query", "noshows"], ["--query", "meetings", "-p", "actor=Kim Jong Un"],
    ["--outlet", "CBS News"], ["--start", "2018-07-01", "--end", "2018-07-31"],
])
def test_kg_html_writes_one_self_contained_file(build_dir, tmp_path, view):
    out = tmp_path / "page.html"
    run = kg("html", "--out", str(out), "--store", str(build_dir / "store"), *view, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]  # no lib/ folder
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=\s*[\"']?(https?:)?//",
                         page, re.I)
    assert "vis.Network" in page or "new vis" in page


def test_query_answer_view_links_the_entities_of_each_row(seed_store):
    graph = result_network(seed_store, run_named(seed_store, "noshows", {}))
    labels = {data["label"] for _n, data in graph.nodes(data=True)}
    assert labels == {"North Korea", "DMZ talks on returning Korean War remains",
                      "Planning meeting before the Singapore summit"}
    dmz = next(d for _u, _v, d in graph.edges(data=True) if d["weight"] == 2)
    assert set(dmz["outlets"]) == {"Voice of America", "The Washington Post"}


def test_unknown_ego_is_a_clean_error(build_dir, tmp_path):
    run = kg("html", "--out", str(tmp_path / "x.html"), "--ego", "Nobody Atall", "--store",
             str(build_dir / "store"))
    assert run.returncode == 1 and "no actor is called 'Nobody Atall'" in run.stderr
    assert not (tmp_path / "x.html").exists()
