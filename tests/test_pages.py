"""Pages of the named questions (``limit``/``offset``): each page is exactly the slice of the
whole answer, whichever plan finds it (a ``#+ if page`` block, or the query cut after its
``ORDER BY``), on the seed graph and on a generated corpus with many ties of counts."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg.cli import cli
from kg.errors import ParameterError, QueryError
from kg.query import Page, _cut, _own_cut, _parse_header, load_queries, run_named

sys.path.insert(0, str(Path(__file__).resolve().parent))
from samples import SAMPLES, concat_fields  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LISTINGS = sorted(name for name, q in load_queries().items()
                  if not name.startswith("view_") and all(p.optional for p in q.params))


def _slices(n: int):
    """(limit, offset) pairs: pages of 1, 3 and 10 rows from the first row to past the end."""
    offsets = sorted({0, 1, max(0, n - 1), n, n + 3, *range(0, n, max(1, n // 10))})
    return [(limit, offset) for limit in (1, 3, 10) for offset in offsets]


def _rows(name, rows):
    """``rows`` with each GROUP_CONCAT field as the sorted list of its parts: SPARQL leaves
    their order open, and a page plan may fold a group's rows in another order."""
    fields = concat_fields(load_queries()[name].text)
    return [{k: (sorted(str(v).split(fields[k])) if k in fields and v is not None else v)
             for k, v in row.items()} for row in rows]


def _check_pages(store, name, params):
    whole = run_named(store, name, params)
    assert not whole.truncated
    n, rows = len(whole.rows), _rows(name, whole.rows)
    for limit, offset in _slices(n):
        page = run_named(store, name, params, limit=limit, offset=offset)
        assert page.vars == whole.vars
        assert _rows(name, page.rows) == rows[offset:offset + limit], (name, params, limit,
                                                                       offset)
        assert page.truncated == (offset + limit < n), (name, params, limit, offset)
        bound = run_named(store, name, params, limit=limit, offset=offset, plan=False)
        assert _rows(name, bound.rows) == _rows(name, page.rows)
        assert bound.truncated == page.truncated
    return n


def _cases():
    for name in sorted(load_queries()):
        if name.startswith("view_"):
            continue
        if name in LISTINGS:
            yield name, "all", {}
        yield name, "sample", SAMPLES[name]


@pytest.mark.parametrize("name,label,params", list(_cases()))
def test_every_page_of_every_question_is_a_slice_of_its_answer(seed_store, name, label, params):
    _check_pages(seed_store, name, params)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A build of 150 generated articles (benchmarks/generate.py): hundreds of actors and facts,
    most sharing their count with others, some actors in no claim."""
    from kg.pipeline import build
    from kg.store import Store

    spec = importlib.util.spec_from_file_location("kg_bench_generate",
                                                  ROOT / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    base = tmp_path_factory.mktemp("generated")
    module.generate(150, base / "corpus", fresh=0)
    build(base / "corpus", base / "out", validate=False)
    params = json.loads((base / "corpus" / "params.json").read_text(encoding="utf-8"))
    with Store(base / "out" / "store", read_only=True) as store:
        yield store, params


@pytest.mark.parametrize("name,params", [
    ("actors", {}), ("corroboration", {}), ("corroboration", {"min_outlets": "2"}),
    ("corroboration", {"min_outlets": "3"}), ("disputes", {}), ("met", {}), ("noshows", {}),
    ("pledges", {}), ("offices", {}), ("figures", {}), ("statements", {}), ("timeline", {}),
])
def test_pages_of_a_generated_corpus(generated, name, params):
    store, _ = generated
    n = _check_pages(store, name, params)
    assert n > 3, f"{name}: too few rows ({n}) for its pages to mean much"


def test_the_generated_corpus_has_ties_and_uncounted_actors(generated):
    """What the pages above must get right: equal counts, and actors with no count at all."""
    store, _ = generated
    rows = run_named(store, "actors").rows
    counts = [int(r["claimCount"]) for r in rows]
    assert len(set(counts)) < len(counts) / 2
    assert 0 in counts


def test_a_page_plan_is_taken_and_parses_with_every_choice_of_blocks():
    """Each query's text with a page, for every choice of its optional parameters, is valid for
    Oxigraph; where a query has a page plan, its text differs from the plain one cut."""
    planned = set()
    for q in load_queries().values():
        optional = [p.name for p in q.params if p.optional]
        required = {p.name for p in q.params if not p.optional}
        for mask in range(2 ** len(optional)):
            given = required | {n for i, n in enumerate(optional) if mask >> i & 1}
            text = q.sparql_for(given, page=Page(20, 40))
            ox.Store().query(text)
            assert text.rstrip().endswith("LIMIT 21\nOFFSET 40")
            if "#+ if page" in q.text and text != q.sparql_for(given) + "LIMIT 21\nOFFSET 40\n":
                planned.add(q.name)
            ox.Store().query(q.sparql_for(given, lateral=False, page=Page(20, 40)))
    assert set(LISTINGS) <= planned


@pytest.mark.parametrize("name,params", [("actors", {}), ("corroboration", {}),
                                         ("corroboration", {"min_outlets": "2"}),
                                         ("disputes", {}), ("pledges", {}), ("met", {}),
                                         ("figures", {}), ("noshows", {}), ("offices", {}),
                                         ("statements", {}), ("timeline", {})])
def test_a_page_plan_finds_the_first_pages_by_itself(generated, name, params):
    """The plans are not rescued by asking again without them: on their own they give the
    first pages whole, with the row after each."""
    from kg.query import _bind, _execute, named_query

    store, _ = generated
    whole = run_named(store, name, params).rows
    query = named_query(name)
    bindings = _bind(store, query, params)
    n = len(whole)
    assert n >= 4
    for limit, offset in ((1, 0), (3, 0), (2, n - 3)):  # each with a row after it
        text = query.bound(bindings, page=Page(limit, offset))
        assert text != query.bound(bindings, page=Page(limit, offset), plan=False)
        page = _execute(store, text, None, limit)
        assert page.truncated
        assert _rows(name, page.rows) == _rows(name, whole[offset:offset + limit])


@pytest.mark.parametrize("limit,offset,problem", [
    (0, 0, "limit must be a whole number from 1"), (-3, 0, "limit"), (5, -1, "offset"),
    ("5", 0, "limit"), (5, 1.5, "offset"),
])
def test_a_bad_page_is_refused(seed_store, limit, offset, problem):
    with pytest.raises(ParameterError, match=problem):
        run_named(seed_store, "actors", limit=limit, offset=offset)


@pytest.mark.parametrize("text,own", [
    ("SELECT * WHERE { ?s ?p ?o } ORDER BY ?s", False),
    ("SELECT * WHERE { ?s ?p ?o } ORDER BY ?s LIMIT 5", True),
    ("SELECT * WHERE { ?s ?p ?o } offset 2", True),
    ("SELECT * WHERE { { SELECT ?s WHERE { ?s ?p ?o } LIMIT 3 } }", False),
    ("SELECT * WHERE { ?s ?p 'x } LIMIT 1' } # LIMIT 2\n", False),
])
def test_a_query_that_cuts_its_own_answer_is_not_cut_again(text, own):
    assert _own_cut(text) is own
    cut = _cut(text, Page(2, 1), _own_cut(text))
    assert (cut == text) is own
    ox.Store().query(cut)


def test_a_page_line_outside_a_page_block_names_the_file(tmp_path):
    path = tmp_path / "stray.rq"
    path.write_text("#+ name: stray\n#+ description: d\nSELECT ?s WHERE { { SELECT ?s WHERE "
                    "{ ?s ?p ?o } ORDER BY ?s\n#+ page last row\n} }\n")
    with pytest.raises(QueryError, match="outside an '#\\+ if page' block") as err:
        _parse_header(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("name", ["limit", "offset", "page", "format"])
def test_a_parameter_may_not_take_a_reserved_name(tmp_path, name):
    path = tmp_path / "reserved.rq"
    path.write_text(f"#+ name: reserved\n#+ description: d\n#+ param: {name} int?  x\n"
                    f"SELECT * WHERE {{ ?s ?p ${name} }}\n")
    with pytest.raises(QueryError, match="may not be called") as err:
        _parse_header(path)
    assert str(path) in str(err.value)


def test_kg_query_gives_a_page(store_path, seed_store):
    whole = run_named(seed_store, "actors")
    runner = CliRunner()
    reply = runner.invoke(cli, ["query", "actors", "--limit", "3", "--offset", "2", "--format",
                                "json", "--store", str(store_path)])
    assert reply.exit_code == 0, reply.output
    got = [b["actor"]["value"] for b in json.loads(reply.output)["results"]["bindings"]]
    assert got == [str(r["actor"]) for r in whole.rows[2:5]]
    bad = runner.invoke(cli, ["query", "actors", "--offset", "-1", "--store", str(store_path)])
    assert bad.exit_code == 2 and "--offset" in bad.output


def test_a_page_is_right_when_the_kept_counts_do_not_match_the_rows(fresh_store):
    """A page plan takes its threshold from the kept counts; a store filled by hand may count a
    node that gives no row (here one with no label), which raises the threshold past rows the
    page needs. The plan then finds the page short, and it is asked again without the plan."""
    from rdflib import Literal, URIRef
    from rdflib.namespace import XSD

    from kg import iris
    from kg.store import Store
    from kg.vocab import KG

    facts = URIRef(str(iris.FACTS_GRAPH))
    with Store(fresh_store) as store:
        store.add([(URIRef(f"https://example.org/unlabelled/{i}"), KG.claimCount,
                    Literal(900 + i, datatype=XSD.integer), facts) for i in range(3)])
    with Store(fresh_store, read_only=True) as store:
        whole = run_named(store, "actors")
        assert not any("unlabelled" in str(r["actor"]) for r in whole.rows)
        for limit, offset in ((1, 0), (2, 0), (3, 1), (4, 2), (2, len(whole.rows) - 1)):
            page = run_named(store, "actors", limit=limit, offset=offset)
            assert page.rows == whole.rows[offset:offset + limit], (limit, offset)
            assert page.truncated == (offset + limit < len(whole.rows))
