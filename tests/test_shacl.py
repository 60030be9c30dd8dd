"""kg.shacl gives the results pySHACL gives: on small shapes for each constraint it checks, and on
the seed articles' graphs, whole and altered in many ways; anything it does not check is refused
by name, and validate_quads then falls back on pySHACL."""

from __future__ import annotations

import random

import pyshacl
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD

from kg import pipeline, validate
from kg.errors import ValidationError
from kg.shacl import Unsupported, compile_shapes
from kg.triples import entity_quads

PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""


def _pyshacl_results(data: Graph, shapes: Graph) -> set:
    conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none",
                                           advanced=False, allow_warnings=True)
    # the report's own results, not the details pySHACL nests in them (sh:detail)
    return {(report.value(r, SH.focusNode), report.value(r, SH.sourceShape))
            for r in report.objects(None, SH.result)
            if (r, SH.resultSeverity, SH.Violation) in report}


def _ours(data: Graph, shapes: Graph) -> set:
    return {(r.focus, r.shape) for r in compile_shapes(shapes).check(data)}


# (shapes, data): each case is checked by both and must give the same (focus, shape) results;
# every case has data that breaks it and data that does not, so both verdicts are covered.
CASES = {
    "class": ("""ex:S a sh:NodeShape ; sh:targetClass ex:A ;
                   sh:property [ sh:path ex:p ; sh:class ex:B ] .""",
              """ex:a1 a ex:A ; ex:p ex:b . ex:b a ex:B .
                 ex:a2 a ex:A ; ex:p ex:c , "lit" . ex:c a ex:C ."""),
    "class through subClassOf": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:Top ; sh:property [ sh:path ex:p ; sh:class ex:Top ] .""",
        """ex:Mid rdfs:subClassOf ex:Top . ex:Low rdfs:subClassOf ex:Mid .
           ex:x a ex:Low ; ex:p ex:y . ex:y a ex:Mid . ex:z a ex:Low ; ex:p ex:w . ex:w a ex:Other ."""),
    "counts": ("""ex:S a sh:NodeShape ; sh:targetClass ex:A ;
                    sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:maxCount 2 ] .""",
               """ex:a0 a ex:A . ex:a1 a ex:A ; ex:p 1 . ex:a3 a ex:A ; ex:p 1, 2, 3 ."""),
    "datatype": ("""ex:S a sh:NodeShape ; sh:targetClass ex:A ;
                      sh:property [ sh:path ex:d ; sh:datatype xsd:date ] ,
                                  [ sh:path ex:s ; sh:datatype xsd:string ] .""",
                 """ex:a1 a ex:A ; ex:d "2018-02-03"^^xsd:date ; ex:s "plain" , "typed"^^xsd:string .
                    ex:a2 a ex:A ; ex:d "2018" , ex:iri ; ex:s "en"@en , 4 .
                    ex:a3 a ex:A ; ex:d "2018-02-30"^^xsd:date ."""),
    "nodeKind, pattern, lengths": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:A ;
             sh:property [ sh:path ex:i ; sh:nodeKind sh:IRI ; sh:pattern "^http://example\\\\.org/ok" ] ,
                         [ sh:path ex:t ; sh:pattern "^ab" ; sh:flags "i" ; sh:minLength 2 ; sh:maxLength 4 ] .""",
        """ex:a1 a ex:A ; ex:i ex:ok1 ; ex:t "ABc" .
           ex:a2 a ex:A ; ex:i ex:bad ; ex:t "abcdef" . ex:a3 a ex:A ; ex:i "http://example.org/ok" .
           ex:a4 a ex:A ; ex:t [] . ex:a5 a ex:A ; ex:i [] ; ex:t "a" ."""),
    "in and hasValue": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:A ;
             sh:property [ sh:path ex:s ; sh:in ( ex:x ex:y 1 ) ] , [ sh:path ex:m ; sh:hasValue ex:must ] .""",
        """ex:a1 a ex:A ; ex:s ex:x , 1 ; ex:m ex:must , ex:other .
           ex:a2 a ex:A ; ex:s ex:z ; ex:m ex:other . ex:a3 a ex:A ; ex:s "1" ."""),
    "or of datatypes": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:A ;
             sh:property [ sh:path ex:v ; sh:or ( [ sh:datatype xsd:integer ] [ sh:datatype xsd:decimal ] ) ] .""",
        """ex:a1 a ex:A ; ex:v 3 , 2.5 . ex:a2 a ex:A ; ex:v "3" . ex:a3 a ex:A ; ex:v 1.5e0 ."""),
    "qualified": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:A ;
             sh:property [ sh:path ex:sel ; sh:qualifiedValueShape [ sh:class ex:Q ] ;
                           sh:qualifiedMinCount 1 ; sh:qualifiedMaxCount 1 ] .""",
        """ex:a1 a ex:A ; ex:sel ex:q1 , ex:p1 . ex:q1 a ex:Q . ex:p1 a ex:P .
           ex:a2 a ex:A ; ex:sel ex:p1 . ex:a3 a ex:A ; ex:sel ex:q1 , ex:q2 . ex:q2 a ex:Q ."""),
    "node and node-level constraints": (
        """ex:S a sh:NodeShape ; sh:targetObjectsOf ex:link ; sh:nodeKind sh:IRI ; sh:node ex:Named .
           ex:Named a sh:NodeShape ; sh:property [ sh:path ex:name ; sh:minCount 1 ] .""",
        """ex:x ex:link ex:y , ex:z , "lit" . ex:y ex:name "Y" ."""),
    "targets": (
        """ex:S1 a sh:NodeShape ; sh:targetSubjectsOf ex:p ; sh:property [ sh:path ex:q ; sh:minCount 1 ] .
           ex:S2 a sh:NodeShape ; sh:targetNode ex:n1 , ex:n2 ; sh:property [ sh:path ex:q ; sh:minCount 1 ] .
           ex:C a sh:NodeShape , rdfs:Class ; sh:property [ sh:path ex:q ; sh:minCount 1 ] .""",
        """ex:s1 ex:p 1 . ex:s2 ex:p 1 ; ex:q 2 . ex:n1 ex:q 1 . ex:i a ex:C ."""),
    "inverse path": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:A ;
             sh:property [ sh:path [ sh:inversePath ex:owns ] ; sh:minCount 1 ; sh:class ex:Owner ] .""",
        """ex:a1 a ex:A . ex:o ex:owns ex:a1 . ex:o a ex:Owner . ex:a2 a ex:A .
           ex:a3 a ex:A . ex:x ex:owns ex:a3 ."""),
    "severity and deactivated": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:A ;
             sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:severity sh:Warning ] ,
                         [ sh:path ex:q ; sh:minCount 1 ; sh:deactivated true ] ,
                         [ sh:path ex:r ; sh:minCount 1 ] .""",
        """ex:a1 a ex:A ; ex:r 1 . ex:a2 a ex:A ."""),
}


@pytest.mark.parametrize("name", list(CASES))
def test_same_results_as_pyshacl(name):
    shapes_text, data_text = CASES[name]
    shapes = Graph().parse(data=PREFIXES + shapes_text, format="turtle")
    data = Graph().parse(data=PREFIXES + data_text, format="turtle")
    expected = _pyshacl_results(data, shapes)
    assert expected, "each case has data that breaks it"
    assert _ours(data, shapes) == expected


@pytest.mark.parametrize("term", ["sh:closed true", "sh:equals ex:q",
                                  "sh:qualifiedValueShapesDisjoint true",
                                  "sh:property [ sh:path ( ex:p ex:q ) ]"])
def test_what_it_does_not_check_is_refused_by_name(term):
    shapes = Graph().parse(data=PREFIXES + f"ex:S a sh:NodeShape ; sh:targetClass ex:A ; {term} .",
                           format="turtle")
    with pytest.raises(Unsupported, match=r"sh:\w+|path"):
        compile_shapes(shapes)


def test_a_shape_that_refers_to_itself_is_refused():
    shapes = Graph().parse(data=PREFIXES + "ex:S a sh:NodeShape ; sh:targetClass ex:A ; sh:node ex:S .",
                           format="turtle")
    with pytest.raises(Unsupported, match="refers to itself"):
        compile_shapes(shapes)


def test_shapes_it_cannot_check_go_to_pyshacl(tmp_path):
    """validate_quads with a shapes file using sh:closed still finds the violation (pySHACL)."""
    path = tmp_path / "closed.ttl"
    path.write_text(PREFIXES + "ex:S a sh:NodeShape ; sh:targetClass ex:A ; sh:closed true ;"
                    " sh:ignoredProperties ( <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> ) .")
    assert validate.load_shapes(str(path)).checks is None
    ex = "http://example.org/"
    good = [(URIRef(ex + "a"), RDF.type, URIRef(ex + "A"), None)]
    validate.validate_quads(good, shapes=path)
    with pytest.raises(ValidationError, match="does not satisfy"):
        validate.validate_quads(good + [(URIRef(ex + "a"), URIRef(ex + "extra"), Literal(1), None)],
                                shapes=path, file="f", item="i")


def test_the_project_shapes_are_all_checked_here():
    split = validate.load_shapes(str(validate.SHAPES_PATH))
    assert split.checks is not None


def _seed_bundles() -> list[list]:
    corpus = pipeline.load_corpus()
    return [list(entity_quads(corpus.registry, pipeline._entities_used(corpus, stem)))
            + pipeline.article_bundle(corpus, stem) for stem in corpus.articles]


def _mutations(triples: list, rng: random.Random, n: int):
    """``n`` altered copies of ``triples``: one triple dropped, an object replaced by a literal,
    an IRI, an ill-typed date or a value of another datatype, a type changed, a value repeated
    with another value, or a class made a subclass of another: the ways a loader or a hand-made
    graph goes wrong."""
    classes = sorted({o for _s, p, o in triples if p == RDF.type})
    subjects = sorted({s for s, _p, _o in triples if isinstance(s, URIRef)})
    for _ in range(n):
        out = list(triples)
        i = rng.randrange(len(out))
        s, p, o = out[i]
        kind = rng.randrange(7)
        if kind == 0:
            del out[i]
        elif kind == 1:
            out[i] = (s, p, Literal("x"))
        elif kind == 2:
            out[i] = (s, p, rng.choice(subjects))
        elif kind == 3:
            out[i] = (s, p, rng.choice([Literal("2018-02-30", datatype=XSD.date),
                                        Literal("7", datatype=XSD.integer),
                                        Literal("text", lang="en"), BNode()]))
        elif kind == 4:
            t = rng.randrange(len(out))
            if out[t][1] == RDF.type:
                out[t] = (out[t][0], RDF.type, rng.choice(classes))
        elif kind == 5:
            out.append((s, p, rng.choice([Literal("another"), rng.choice(subjects)])))
        else:
            out.append((rng.choice(classes), RDFS.subClassOf, rng.choice(classes)))
        yield out


def test_seed_graphs_and_their_alterations_give_pyshacl_s_results():
    shapes = validate.load_shapes(str(validate.SHAPES_PATH)).core
    checks = compile_shapes(shapes)
    rng = random.Random(5)
    broken = 0
    for bundle in _seed_bundles():
        triples = list(dict.fromkeys((s, p, o) for s, p, o, _g in bundle))
        for variant in [triples, *_mutations(triples, rng, 40)]:
            data = Graph()
            for t in variant:
                data.add(t)
            expected = _pyshacl_results(data, shapes)
            assert {(r.focus, r.shape) for r in checks.check(data)} == expected
            broken += bool(expected)
    assert broken >= 30, "the alterations break the shapes often enough to compare"
