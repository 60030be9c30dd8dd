"""The build's validator (pySHACL core + SPARQL constraints in Oxigraph) agrees with pySHACL."""

from __future__ import annotations

from pathlib import Path

import pyshacl
import pytest
from rdflib import Dataset, Graph

from kg.errors import ValidationError
from kg.validate import SHAPES_PATH, validate_quads

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
