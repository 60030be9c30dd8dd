"""Shared fixtures: one build of the seed data per test session, and scratch copies of data/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Answers kept beside a store (kg.kept_answers) are read back by any later question, in this
# process or a child: a test that counts what reaches the store, or breaks it on purpose, would
# get a kept answer instead. They are tested with keeping on in test_kept_on_disk.py.
os.environ["KG_KEEP_ANSWERS"] = "off"

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory):
    """``kg build`` of the project's data, once per session."""
    from kg.pipeline import build

    out = tmp_path_factory.mktemp("build")
    report = build(DATA, out)
    out.joinpath("report.txt").write_text(repr(report))
    return out


@pytest.fixture(scope="session")
def seed_store(build_dir):
    """The built seed graph, opened read-only."""
    from kg.store import Store

    return Store(build_dir / "store", read_only=True)


@pytest.fixture(scope="session")
def store_path(build_dir):
    """The on-disk store of the seed build (for tests that open it themselves)."""
    return build_dir / "store"


@pytest.fixture(scope="session")
def runaway_query():
    """A four-way cartesian product over every graph, counted: no row comes out before it is
    done, so only a time limit stops it."""
    return ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g1 { ?a ?b ?c } GRAPH ?g2 { ?d ?e ?f } "
            "GRAPH ?g3 { ?g ?h ?i } GRAPH ?g4 { ?j ?k ?l } }")


@pytest.fixture()
def fresh_store(tmp_path):
    """The store of a ``kg build`` of data/ made for one test, which may change it."""
    from kg.pipeline import build

    build(DATA, tmp_path, validate=False)
    return tmp_path / "store"


@pytest.fixture()
def data_copy(tmp_path):
    """A writable copy of data/, for tests that break or change it."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target
