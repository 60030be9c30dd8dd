"""The build's validator (kg.shacl for the core, the SPARQL constraints in Oxigraph) agrees with
pySHACL, one bundle or many at once."""

from __future__ import annotations

import copy
from pathlib import Path

import pyshacl
import pytest
from rdflib import Dataset, Graph

from kg.errors import ValidationError
from kg.validate import (SHAPES_PATH, _oxigraph_violations, load_shapes, validate_bundles,
                         validate_quads)

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "shapes").glob("*.trig"))


def _quads(path):
    ds = Dataset().parse(str(path), format="trig")
    return list(ds.quads())


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_same_verdict_as_pyshacl(fixture):
    quads = _quads(fixture)
    data = Graph()
    for s, p, o, _g in quads:
        data.add((s, p, o))
    shapes = Graph().parse(str(SHAPES_PATH), format="turtle")
    expected, _, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True)
    assert expected == (fixture.stem == "valid")
    if expected:
        validate_quads(quads)
    else:
        with pytest.raises(ValidationError, match="does not satisfy the shapes"):
            validate_quads(quads, file=fixture, item="x")


def test_sparql_constraint_message_names_the_node_and_values():
    fixture = next(p for p in FIXTURES if p.stem == "offsets_wrong_length")
    with pytest.raises(ValidationError) as err:
        validate_quads(_quads(fixture), file=fixture, item="c1")
    text = str(err.value)
    assert text.startswith(f"{fixture}: c1: ") and "/claim/" in text and "oa:start" in text


def _sparql_bundles():
    from kg import pipeline
    from kg.triples import entity_quads

    corpus = pipeline.load_corpus()
    seeds = [list(entity_quads(corpus.registry, pipeline._entities_used(corpus, stem)))
             + pipeline.article_bundle(corpus, stem) for stem in corpus.articles]
    return [_quads(f) for f in FIXTURES] + seeds


def test_sparql_constraints_of_bundles_checked_together_are_each_bundle_s_own():
    """Asked once over every bundle's graph (or of each graph in turn where a constraint cannot
    be), each bundle gets the violations it gets alone: none leak from a bundle sharing nodes."""
    split = load_shapes(str(SHAPES_PATH))
    bundles = _sparql_bundles()
    alone = [_oxigraph_violations([b], split)[0] for b in bundles]
    assert sum(map(bool, alone)) >= 2, "some fixtures break a SPARQL constraint"
    assert _oxigraph_violations(bundles, split) == alone
    assert any(c[3] is not None for c in split.sparql) and any(c[3] is None for c in split.sparql)
    each_in_turn = copy.copy(split)
    each_in_turn.sparql = [(shape, q, m, None) for shape, q, m, _all in split.sparql]
    assert _oxigraph_violations(bundles, each_in_turn) == alone


def test_bundles_name_the_first_that_does_not_conform():
    bad = [f for f in FIXTURES if f.stem != "valid"]
    good = next(f for f in FIXTURES if f.stem == "valid")
    bundles = [(_quads(good), good, "ok")] + [(_quads(f), f, f.stem) for f in bad]
    with pytest.raises(ValidationError) as err:
        validate_bundles(bundles)
    assert err.value.file == str(bad[0]) and err.value.item == bad[0].stem
    validate_bundles([(_quads(good), good, "ok")] * 3)
