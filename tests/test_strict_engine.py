"""Every named question, as sent to a SPARQL 1.1 store, answered by an engine that evaluates
groups strictly bottom-up (rdflib, as Jena ARQ behind Fuseki does) must agree with Oxigraph.

The text a remote store gets has its ``LATERAL`` groups spliced into their enclosing group
(:func:`kg.query.without_lateral`). Inside a spliced group a parameter is no longer bound by the
row it was correlated with, so a pattern that only worked through ``LATERAL`` (a ``BIND`` of the
parameter inside a ``UNION`` branch) silently lists everything on such an engine: ``timeline``
with a topic did, while Virtuoso, which is not strict there, answered it right. Virtuoso runs the
same comparison in tests/test_remote.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import rdflib
from rdflib.plugins.sparql.sparql import NotBoundError

from kg.query import QueryResult, _bind, load_queries, run_named

sys.path.insert(0, str(Path(__file__).resolve().parent))
from samples import SAMPLES, as_multiset, concat_fields, mode_params, modes  # noqa: E402

# rdflib (7.x) raises instead of answering when an aggregate with DISTINCT meets a row where its
# variable is unbound (RDFLib/rdflib#716, #882); these are expected to fail with exactly that
# error (strict: once rdflib answers them, the entry must go and the answer is compared).
_RDFLIB_716 = "rdflib raises NotBoundError for an aggregate with DISTINCT over an unbound value"
RDFLIB_FAILS = {("actors", "all"), ("actors", "required"), ("view_actors", "all"),
                ("view_meetings", "all")}

# rdflib 7 warns of its own deprecated Dataset calls millions of times per run
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib")


def _cases():
    for name, query in sorted(load_queries().items()):
        for mode in modes(query):
            marks = ([pytest.mark.xfail(strict=True, raises=NotBoundError, reason=_RDFLIB_716)]
                     if (name, mode) in RDFLIB_FAILS else [])
            yield pytest.param(name, mode, id=f"{name}-{mode}", marks=marks)


@pytest.fixture(scope="module")
def rdflib_dataset(build_dir):
    ds = rdflib.Dataset(default_union=True)
    ds.parse(build_dir / "kg.nq", format="nquads")
    return ds


@pytest.mark.parametrize("name,mode", _cases())
def test_a_strict_engine_answers_the_spliced_question_alike(name, mode, seed_store,
                                                            rdflib_dataset):
    query = load_queries()[name]
    params = mode_params(query, mode)
    local = run_named(seed_store, name, params)
    text = query.bound(_bind(seed_store, query, params), lateral=False)
    found = rdflib_dataset.query(text)
    rows = [{str(v): row[v] for v in found.vars if row[v] is not None} for row in found]
    got = QueryResult([str(v) for v in found.vars], rows)
    assert got.vars == local.vars
    fields = concat_fields(query.text)
    assert as_multiset(got, fields) == as_multiset(local, fields)


def test_the_spliced_timeline_keeps_its_topic(seed_store, rdflib_dataset):
    # the case that failed: every event of the graph for one topic
    query = load_queries()["timeline"]
    params = {"topic": "remains-repatriation"}
    text = query.bound(_bind(seed_store, query, params), lateral=False)
    everything = run_named(seed_store, "timeline", {})
    got = list(rdflib_dataset.query(text))
    assert 0 < len(got) == len(run_named(seed_store, "timeline", params).rows)
    assert len(got) < len(everything.rows)
