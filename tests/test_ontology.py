"""The ontology (``ontology/kg.ttl``) and the SHACL shapes (``ontology/shapes.ttl``).

* Both files parse; the ontology defines exactly the terms of ``kg.vocab.KG``, each with a label
  and a definition; the shapes graph is valid SHACL and every shape says what it checks.
* The shapes accept ``tests/fixtures/shapes/valid.trig`` (hand-built in the shape
  ``kg/triples.py`` writes) and reject each broken fixture beside it for the reason it was broken.
* The shapes accept what the loader really writes for the articles and claims under ``data/``.

Every validation is as the project runs it: the union of the entities graph, one article's graph
and its claim graphs, checked with pySHACL without inference.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pyshacl
import pytest
from rdflib import OWL, RDF, RDFS, SKOS, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, SH

from kg.vocab import KG, NAMESPACES, OA, PROV, SEM

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY_FILE = ROOT / "ontology" / "kg.ttl"
SHAPES_FILE = ROOT / "ontology" / "shapes.ttl"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shapes"
DATA = ROOT / "data"

ONTOLOGY_IRI = URIRef("https://w3id.org/newskg/ontology")
KG_NS = str(KG._NS)
ID = Namespace("https://w3id.org/newskg/id/")
SDO = Namespace(NAMESPACES["schema"])  # a plain Namespace: rdflib's SDO warns on unknown names
FOAF = Namespace(NAMESPACES["foaf"])
TERMS = sorted(KG.__annotations__)
#: The claim graph of the fixtures (its IRI is also the kg:Claim node's).
CLAIM = ID["claim/000_8613253b72fdd089/3dec804f51746386"]

#: rdf:type a kg: term may be defined with.
DEFINING_TYPES = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.NamedIndividual}


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return Graph().parse(SHAPES_FILE, format="turtle")


def kg_term(name: str) -> URIRef:
    return URIRef(KG_NS + name)


def local_name(iri: URIRef) -> str:
    return str(iri).replace("#", "/").rsplit("/", 1)[-1]


def english(graph: Graph, node, predicate) -> list[Literal]:
    return [o for o in graph.objects(node, predicate)
            if isinstance(o, Literal) and o.language == "en" and str(o).strip()]


# --------------------------------------------------------------------------------------------
# The ontology
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [ONTOLOGY_FILE, SHAPES_FILE], ids=lambda p: p.name)
def test_file_parses_as_turtle(path):
    assert len(Graph().parse(path, format="turtle")) > 0


def test_ontology_header(ontology):
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ontology
    assert english(ontology, ONTOLOGY_IRI, RDFS.label)
    (description,) = english(ontology, ONTOLOGY_IRI, DCTERMS.description)
    for topic in ("named graph", "oa:start", "code points", "sem:hasEarliestBeginTimeStamp",
                  "org:memberDuring", "kg:PledgeStep", "distinct publishers"):
        assert topic in description, f"the description does not explain {topic}"


@pytest.mark.parametrize("name", TERMS)
def test_vocab_term_is_defined(ontology, name):
    term = kg_term(name)
    types = set(ontology.objects(term, RDF.type))
    assert types & DEFINING_TYPES, f"kg:{name} is not declared as a class, property or individual"
    assert len(english(ontology, term, RDFS.label)) == 1, f"kg:{name} needs one English rdfs:label"
    definitions = english(ontology, term, SKOS.definition)
    assert len(definitions) == 1, f"kg:{name} needs one English skos:definition"
    assert len(str(definitions[0]).split()) >= 5, f"kg:{name}'s definition is not a sentence"


def test_ontology_uses_no_kg_term_outside_vocab(ontology):
    used = {str(node)[len(KG_NS):] for triple in ontology for node in triple
            if isinstance(node, URIRef) and str(node).startswith(KG_NS)}
    assert used - set(TERMS) == set(), "kg: terms in kg.ttl but not in kg.vocab.KG"
    assert set(TERMS) - used == set(), "kg.vocab.KG terms missing from kg.ttl"


@pytest.mark.parametrize("name", TERMS)
def test_term_kind_matches_its_name(ontology, name):
    """Classes and individuals are capitalised, properties are not, and each is typed so."""
    types = set(ontology.objects(kg_term(name), RDF.type))
    if name[0].islower():
        assert types & {OWL.ObjectProperty, OWL.DatatypeProperty}
        assert len(types & {OWL.ObjectProperty, OWL.DatatypeProperty}) == 1
    else:
        assert (OWL.Class in types) != (OWL.NamedIndividual in types)


def enumerations(ontology: Graph):
    """(class, members of its owl:oneOf) for each enumeration class."""
    for cls in ontology.subjects(RDF.type, OWL.Class):
        for eq in ontology.objects(cls, OWL.equivalentClass):
            head = ontology.value(eq, OWL.oneOf)
            if head is not None:
                yield cls, set(Collection(ontology, head))


def test_individuals_belong_to_their_enumeration(ontology):
    found = dict(enumerations(ontology))
    assert set(found) == {KG.MeetingStatus, KG.AttendanceStatus, KG.PledgeStatus, KG.Stance,
                          KG.Outcome}
    for cls, members in found.items():
        typed = set(ontology.subjects(RDF.type, cls))
        assert members == typed, f"{cls}: owl:oneOf and the individuals typed with it differ"
        for member in members:
            assert (member, RDF.type, OWL.NamedIndividual) in ontology


@pytest.mark.parametrize("axiom", [
    (KG.State, RDFS.subClassOf, SDO.Country),
    (KG.State, RDFS.subClassOf, FOAF.Organization),
    (KG.GovernmentBody, RDFS.subClassOf, SDO.GovernmentOrganization),
    (KG.Meeting, RDFS.subClassOf, SEM.Event),
    (KG.Meeting, RDFS.subClassOf, SDO.Event),
    (KG.Summit, RDFS.subClassOf, KG.Meeting),
    (KG.Talks, RDFS.subClassOf, KG.Meeting),
    (KG.Visit, RDFS.subClassOf, KG.Meeting),
    (KG.Ceremony, RDFS.subClassOf, KG.Meeting),
    (KG.Claim, RDFS.subClassOf, PROV.Entity),
    (KG.Claim, RDFS.subClassOf, OA.Annotation),
    (KG.Statement, RDFS.subClassOf, SDO.Quotation),
    (KG.AnonymousSource, RDFS.subClassOf, FOAF.Agent),
    (KG.quote, RDFS.subPropertyOf, SDO.text),
    (KG.about, RDFS.subPropertyOf, SDO.about),
    (KG.accordingTo, RDFS.subPropertyOf, PROV.wasInfluencedBy),
    (KG.denies, RDFS.subPropertyOf, KG.disputes),
    (KG.contradicts, RDFS.subPropertyOf, KG.disputes),
    (KG.speaker, RDFS.subPropertyOf, SDO.creator),
    (KG.value, RDFS.subPropertyOf, SDO.value),
    (KG.unit, RDFS.subPropertyOf, SDO.unitText),
    (KG.Absent, RDF.type, KG.AttendanceStatus),
], ids=lambda t: f"{local_name(t[0])}-{local_name(t[2])}")
def test_alignment_with_reused_vocabularies(ontology, axiom):
    assert axiom in ontology


def test_loader_writes_every_superclass_a_shape_targets(ontology, shapes):
    """Validation runs without inference, so each superclass a shape targets must be written."""
    from kg.triples import CLASSES

    targeted = set(shapes.objects(None, SH.targetClass))
    for kind, classes in CLASSES.items():
        for cls in classes:
            for parent in ontology.transitive_objects(cls, RDFS.subClassOf):
                if parent in targeted:
                    assert parent in classes, f"{kind}: {cls} is a {parent}, not written"


# --------------------------------------------------------------------------------------------
# The shapes
# --------------------------------------------------------------------------------------------

def test_shapes_graph_is_valid_shacl(shapes):
    conforms, _, text = pyshacl.validate(Graph(), shacl_graph=shapes, inference="none",
                                         advanced=True, meta_shacl=True)
    assert conforms, text


def test_every_shape_says_what_it_checks(shapes):
    node_shapes = set(shapes.subjects(RDF.type, SH.NodeShape))
    assert len(node_shapes) >= 10
    for shape in node_shapes:
        assert english(shapes, shape, RDFS.comment), f"{shape} has no rdfs:comment"
    for owner, constraint in [*shapes.subject_objects(SH.property),
                              *shapes.subject_objects(SH.sparql)]:
        assert english(shapes, constraint, SH.message), \
            f"a constraint of {owner} ({shapes.value(constraint, SH.path)}) has no sh:message"


class Result(NamedTuple):
    focus: URIRef
    path: URIRef | None
    component: URIRef
    message: str


def union_of(dataset: Dataset) -> Graph:
    """All triples of all named graphs, as the shapes see the data."""
    graph = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    return graph


def validate(data: Graph, shapes: Graph) -> tuple[bool, list[Result], str]:
    conforms, report, text = pyshacl.validate(data, shacl_graph=shapes, inference="none",
                                              advanced=True)
    results = [Result(report.value(r, SH.focusNode), report.value(r, SH.resultPath),
                      report.value(r, SH.sourceConstraintComponent),
                      " ".join(map(str, report.objects(r, SH.resultMessage))))
               for r in report.subjects(RDF.type, SH.ValidationResult)]
    return conforms, results, text


def load_fixture(name: str) -> Dataset:
    dataset = Dataset()
    dataset.parse(FIXTURES / name, format="trig")
    return dataset


def test_valid_fixture_conforms(shapes):
    dataset = load_fixture("valid.trig")
    # the three kinds of graph, named as kg.iris names them
    assert {ID["graph/entities"], ID["graph/article/000_8613253b72fdd089"], CLAIM} <= {
        g.identifier for g in dataset.graphs()}
    data = union_of(dataset)
    assert {KG.Claim, KG.Participation, SDO.NewsArticle} <= set(data.objects(None, RDF.type))
    conforms, results, text = validate(data, shapes)
    assert conforms, text
    assert results == []


BROKEN = {
    # fixture: (focus node, result path, constraint component, words of the message)
    "claim_without_article.trig":
        (CLAIM, PROV.wasDerivedFrom, SH.MinCountConstraintComponent, "prov:wasDerivedFrom"),
    "claim_without_position.trig":
        (URIRef(f"{CLAIM}/target"), OA.hasSelector, SH.QualifiedMinCountConstraintComponent,
         "oa:TextPositionSelector"),
    "offsets_wrong_length.trig":
        (CLAIM, None, SH.SPARQLConstraintComponent, "68 characters of oa:exact"),
    "bad_attendance_status.trig":
        (ID["event/dmz-remains-talks/participant/north-korea"], KG.attendance,
         SH.InConstraintComponent, "kg:attendance"),
    "pledge_without_pledger.trig":
        (ID["pledge/dmz-meeting-arrangement"], KG.pledgedBy, SH.SPARQLConstraintComponent,
         "no kg:pledgedBy"),
    "figure_without_value.trig":
        (ID["measure/us-unaccounted-korean-war/value/7700"], KG.value,
         SH.MinCountConstraintComponent, "kg:value"),
    "bad_wikidata_sameas.trig":
        (ID["actor/north-korea"], OWL.sameAs, SH.PatternConstraintComponent, "Wikidata"),
    "timestamps_reversed.trig":
        (ID["event/dmz-remains-talks"], None, SH.SPARQLConstraintComponent,
         "2018-07-12 is after sem:hasLatestEndTimeStamp 2018-07-08"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_fixture_is_reported(shapes, name):
    focus, path, component, words = BROKEN[name]
    conforms, results, text = validate(union_of(load_fixture(name)), shapes)
    assert not conforms
    assert any(r.focus == focus and r.path == path and r.component == component
               and words in r.message for r in results), text
    # One rule is broken, so every violation is about the node that breaks it.
    assert {r.focus for r in results} == {focus}, text
    assert all(r.message for r in results), text


def test_every_fixture_is_tested():
    assert {p.name for p in FIXTURES.glob("*.trig")} == {"valid.trig", *BROKEN}


# --------------------------------------------------------------------------------------------
# What the loader writes for the real data
# --------------------------------------------------------------------------------------------

def loader_graphs():
    """For each article under data/: the union the shapes check, as kg/triples.py writes it."""
    from kg.articles import load_articles
    from kg.claims import link_disputes, load_claim_file
    from kg.entities import load_registry
    from kg.triples import article_quads, claim_quads, entity_quads

    registry = load_registry(DATA / "entities", DATA / "wikidata.tsv")
    articles = {a.stem: a for a in load_articles(DATA / "articles")}
    claim_sets = {}
    for stem, article in articles.items():
        path = DATA / "claims" / f"{stem}.yaml"
        if path.exists():
            claim_sets[stem] = load_claim_file(path, article, registry)
    link_disputes(claim_sets)
    entities = list(entity_quads(registry))
    for stem, article in sorted(articles.items()):
        claim_set = claim_sets.get(stem)
        claims_file = f"claims/{stem}.yaml" if claim_set else None
        quads = [*entities, *article_quads(article, claim_set, claims_file)]
        for claim in claim_set.claims if claim_set else ():
            quads.extend(claim_quads(claim, article, claims_file))
        graph = Graph()
        for s, p, o, _ in quads:
            graph.add((s, p, o))
        yield stem, graph


def test_loader_output_conforms(shapes):
    checked = 0
    for stem, data in loader_graphs():
        conforms, _, text = validate(data, shapes)
        assert conforms, f"{stem}:\n{text}"
        checked += 1
    assert checked > 0
