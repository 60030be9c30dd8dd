"""Stage 3: triples. Turns validated claims into quads, one named graph per claim.

A claim's graph holds the fact's triples and, about the graph itself (its IRI is the claim's
IRI), where it came from: ``prov:wasDerivedFrom`` the article, the quote as a Web Annotation
target with a ``oa:TextQuoteSelector`` and a ``oa:TextPositionSelector``, the sources the article
credits (``kg:accordingTo``) and the load activity. Two articles reporting the same fact produce
the same fact triples in two graphs: that is how corroboration is counted.

Quads are plain ``(s, p, o, g)`` tuples of rdflib terms, so a store can take them without an
intermediate rdflib graph; :func:`to_dataset` wraps them in an ``rdflib.Dataset`` when wanted.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rdflib import OWL, RDF, RDFS, SKOS, XSD, Dataset, Literal, URIRef

from . import __version__, iris
from .articles import Article
from .claims import Claim, ClaimSet, Source
from .entities import Registry
from .terms import plain
from .vocab import FOAF, KG, NAMESPACES, OA, ORG, PROV, SDO, SEM, TIME


class _Terms:
    """A namespace whose terms, once looked up, are plain attributes.

    An rdflib ``DefinedNamespace`` looks every ``KG.meeting`` up again through Python code (a
    few hundred thousand lookups per 10k articles); here the first lookup goes through it (an
    unknown term still raises) and the term is kept.
    """

    def __init__(self, namespace):
        self._namespace = namespace

    def __getattr__(self, name):
        value = getattr(self._namespace, name)
        setattr(self, name, value)
        return value


OWL, RDF, RDFS, SKOS, XSD = map(_Terms, (OWL, RDF, RDFS, SKOS, XSD))
FOAF, KG, OA, ORG, PROV, SDO, SEM, TIME = map(_Terms, (FOAF, KG, OA, ORG, PROV, SDO, SEM, TIME))

__all__ = ["entity_quads", "article_quads", "claim_quads", "ontology_quads", "to_dataset",
           "term_of", "actor_iris", "CLASSES"]

#: Classes asserted for each entity kind. Superclasses are written out so that queries need no
#: reasoner (Oxigraph and most SPARQL stores do none).
CLASSES = {
    "person": (FOAF.Person, SEM.Actor),
    "state": (KG.State, SEM.Actor),
    "government": (SDO.GovernmentOrganization, SEM.Actor),
    "ministry": (KG.GovernmentBody, SDO.GovernmentOrganization, SEM.Actor),
    "agency": (KG.GovernmentBody, SDO.GovernmentOrganization, SEM.Actor),
    "military": (KG.MilitaryBody, SDO.GovernmentOrganization, SEM.Actor),
    "organization": (FOAF.Organization, SEM.Actor),
    "outlet": (SDO.NewsMediaOrganization, SEM.Actor),
    "place": (SEM.Place,),
    "meeting": (KG.Meeting, SEM.Event),
    "summit": (KG.Summit, KG.Meeting, SEM.Event),
    "talks": (KG.Talks, KG.Meeting, SEM.Event),
    "visit": (KG.Visit, KG.Meeting, SEM.Event),
    "ceremony": (KG.Ceremony, KG.Meeting, SEM.Event),
    "incident": (KG.Incident, SEM.Event),
    "pledge": (KG.Pledge,),
    "agreement": (KG.Agreement,),
    "topic": (KG.Topic,),
    "measure": (KG.Measure,),
}

_STATUS = {"held": KG.Held, "planned": KG.Planned, "proposed": KG.Proposed,
           "postponed": KG.Postponed, "failed": KG.Failed, "cancelled": KG.Cancelled}
_ATTENDANCE = {"expected": KG.Expected, "attended": KG.Attended, "absent": KG.Absent,
               "declined": KG.Declined}
_STEP = {"made": KG.Made, "reaffirmed": KG.Reaffirmed, "partly_kept": KG.PartlyKept,
         "kept": KG.Kept, "stalled": KG.Stalled, "suspended": KG.Suspended,
         "resumed": KG.Resumed, "broken": KG.Broken}
_STANCE = {"critical": KG.Critical, "supportive": KG.Supportive, "neutral": KG.Neutral}
_OUTCOME = {"agreement": KG.AgreementReached, "no_agreement": KG.NoAgreement}
_RELATION = {"part_of": ORG.subOrganizationOf, "in_contact_with": KG.inContactWith,
             "requested": KG.requested}
_DISPUTE = {"denies": KG.denies, "contradicts": KG.contradicts}
_METHOD = {"stated": KG.StatedInText, "inferred": KG.InferredFromText, "curated": KG.Curated}
_NOTE_ON = {"outlet": SDO.publisher, "published": SDO.datePublished, "headline": SDO.headline}
_WD = "http://www.wikidata.org/entity/"


def term_of(value) -> URIRef:
    """The IRI of a resolved name: a registry entity or an article-local source."""
    if isinstance(value, Source):
        return iris.source(value.stem, value.key)
    return iris.entity(value.kind, value.key)


def _text(value) -> Literal:
    """A plain literal, made without rdflib's inference of a datatype from a Python value (a
    third of making a build's quads: quotes, labels and ids are most of its literals)."""
    return plain(value) if type(value) is str else Literal(value)


@lru_cache(maxsize=65536)
def _date(day) -> Literal:
    return Literal(day.isoformat(), datatype=XSD.date)


@lru_cache(maxsize=65536)
def _offset(n: int) -> Literal:
    return Literal(str(n), datatype=XSD.nonNegativeInteger)


def _timestamps(node, interval, g):
    if interval is not None:
        yield node, SEM.hasEarliestBeginTimeStamp, _date(interval.start), g
        yield node, SEM.hasLatestEndTimeStamp, _date(interval.end), g


def _number(value) -> Literal:
    if isinstance(value, int):
        return Literal(str(value), datatype=XSD.integer)
    return Literal(repr(float(value)), datatype=XSD.decimal)


@lru_cache(maxsize=4)
def actor_iris(registry: Registry) -> frozenset[str]:
    """The registry's entities that :func:`entity_quads` types ``sem:Actor``, as IRIs in
    N-Triples form (see :func:`kg.derive.mentions`); computed once per registry."""
    return frozenset(f"<{term_of(ent)}>" for ent in registry if SEM.Actor in CLASSES[ent.kind])


def entity_quads(registry: Registry, keys=None):
    """The registry as quads in the entities graph: types, labels, aliases, owl:sameAs.

    ``keys``: only these entities (in sorted order), e.g. those one article uses.
    """
    g = iris.ENTITIES_GRAPH
    for ent in (registry if keys is None else (registry[k] for k in sorted(keys))):
        node = term_of(ent)
        for cls in CLASSES[ent.kind]:
            yield node, RDF.type, cls, g
        yield node, RDFS.label, _text(ent.label), g
        for alias in ent.aliases:
            yield node, SKOS.altLabel, _text(alias), g
        if ent.wikidata:
            yield node, OWL.sameAs, URIRef(_WD + ent.wikidata), g
        if ent.part_of:
            parent = term_of(registry[ent.part_of])
            pred = SDO.containedInPlace if ent.kind == "place" else ORG.subOrganizationOf
            yield node, pred, parent, g


def ontology_quads(path: Path | str):
    """The ontology file, as quads in its own graph (labels and definitions for queries).

    Its blank nodes (OWL lists and restrictions) are replaced by skolem IRIs derived from the
    canonical form of the graph, and the triples come in a fixed order, so that every build
    writes byte-identical output and the graph round-trips through any serialization exactly.
    """
    from rdflib import BNode, Graph
    from rdflib.compare import to_canonical_graph

    canonical = to_canonical_graph(Graph().parse(str(path), format="turtle"))
    genid = str(iris.ONTOLOGY_GRAPH) + "/.well-known/genid/"

    def skolem(term):
        return URIRef(genid + str(term)) if isinstance(term, BNode) else term

    # sorted: a graph's iteration order is not stable, and a build writes its quads in order
    triples = sorted(((skolem(s), p, skolem(o)) for s, p, o in canonical),
                     key=lambda t: tuple(term.n3() for term in t))
    for s, p, o in triples:
        yield s, p, o, iris.ONTOLOGY_GRAPH


def article_quads(article: Article, claim_set: ClaimSet | None, claims_file: str | None):
    """The article's own graph: metadata, how it was established, local sources, load activity."""
    g = iris.article_graph(article.stem)
    node = iris.article(article.stem)
    yield node, RDF.type, SDO.NewsArticle, g
    yield node, RDF.type, PROV.Entity, g
    yield node, SDO.publisher, iris.entity("outlet", article.outlet), g
    yield node, SDO.datePublished, _date(article.published), g
    if article.headline:
        yield node, SDO.headline, _text(article.headline), g
    yield node, KG.sha256, _text(article.sha256), g
    yield node, KG.textFile, _text(f"articles/{article.path.name}"), g
    for note in article.notes:
        n = URIRef(f"{node}/note/{note.field}")
        yield node, KG.note, n, g
        yield n, RDF.type, KG.MetadataNote, g
        yield n, KG.noteOn, _NOTE_ON[note.field], g
        yield n, KG.method, _METHOD[note.method], g
        yield n, RDFS.comment, _text(note.evidence), g
    act = _activity(article, claims_file)
    yield act, RDF.type, PROV.Activity, g
    yield act, PROV.used, node, g
    yield act, PROV.wasAssociatedWith, iris.LOADER_AGENT, g
    yield act, KG.loaderVersion, _text(__version__), g
    if claims_file:
        yield act, KG.claimsFile, _text(claims_file), g
    yield iris.LOADER_AGENT, RDF.type, PROV.SoftwareAgent, g
    yield iris.LOADER_AGENT, RDFS.label, _text("kg loader"), g
    for src in (claim_set.sources.values() if claim_set else ()):
        s = term_of(src)
        yield s, RDF.type, KG.AnonymousSource, g
        yield s, RDF.type, SEM.Actor, g
        yield s, RDF.type, FOAF.Person if src.kind == "person" else FOAF.Group, g
        yield s, RDFS.label, _text(src.label), g
        if src.affiliation is not None:
            yield s, KG.affiliation, term_of(src.affiliation), g


def _activity(article: Article, claims_file: str | None) -> URIRef:
    # No wall-clock time goes into the graph: the same input must give an isomorphic graph.
    return _activity_iri(article.stem, article.sha256, claims_file or "")


@lru_cache(maxsize=256)
def _activity_iri(stem: str, sha256: str, claims_file: str) -> URIRef:
    return iris.activity(stem, sha256, claims_file, __version__)


def claim_iri(claim: Claim) -> URIRef:
    return iris.claim(claim.stem, claim.content)


def claim_quads(claim: Claim, article: Article, claims_file: str | None = None):
    """One claim's named graph: its fact triples and its provenance."""
    g = claim_iri(claim)
    yield from _provenance(claim, article, g, claims_file)
    yield from _FACT[claim.kind](claim, claim.fact, g)


def _provenance(claim, article, g, claims_file):
    target, quote, position = (URIRef(f"{g}/{part}") for part in ("target", "quote", "position"))
    src = iris.article(article.stem)
    yield g, RDF.type, KG.Claim, g
    yield g, RDF.type, OA.Annotation, g
    yield g, RDF.type, PROV.Entity, g
    yield g, KG.localId, _text(claim.id), g
    yield g, PROV.wasDerivedFrom, src, g
    yield g, PROV.wasGeneratedBy, _activity(article, claims_file), g
    yield g, OA.motivatedBy, OA.describing, g
    yield g, OA.hasTarget, target, g
    yield target, RDF.type, OA.SpecificResource, g
    yield target, OA.hasSource, src, g
    yield target, OA.hasSelector, quote, g
    yield target, OA.hasSelector, position, g
    yield quote, RDF.type, OA.TextQuoteSelector, g
    yield quote, OA.exact, _text(claim.quote), g
    yield quote, OA.prefix, _text(claim.prefix), g
    yield quote, OA.suffix, _text(claim.suffix), g
    yield position, RDF.type, OA.TextPositionSelector, g
    yield position, OA.start, _offset(claim.start), g
    yield position, OA.end, _offset(claim.end), g
    for who in claim.according_to:
        yield g, KG.accordingTo, term_of(who), g
    if claim.date is not None:
        yield g, KG.dateText, _text(claim.date.text), g


def _meeting(claim, f, g):
    m = term_of(f["meeting"])
    if "status" in f:
        yield m, KG.status, _STATUS[f["status"]], g
    if "place" in f:
        yield m, SEM.hasPlace, term_of(f["place"]), g
    for topic in f.get("topic", ()):
        yield m, KG.topic, term_of(topic), g
    if "outcome" in f:
        yield m, KG.outcome, _OUTCOME[f["outcome"]], g
    if "proposed_by" in f:
        yield m, KG.proposedBy, term_of(f["proposed_by"]), g
    yield from _timestamps(m, claim.date, g)


def _attendance(claim, f, g):
    m, actor = term_of(f["meeting"]), term_of(f["actor"])
    p = iris.participation(m, actor)
    yield p, RDF.type, KG.Participation, g
    yield p, KG.meeting, m, g
    yield p, KG.participant, actor, g
    for status in f["status"]:
        yield p, KG.attendance, _ATTENDANCE[status], g
    if "role" in f:
        yield p, KG.role, _text(f["role"]), g
    # The date of an attendance is the date of the meeting attended (or missed).
    yield from _timestamps(m, claim.date, g)


def _office(claim, f, g):
    holder = term_of(f["holder"])
    org = term_of(f["org"]) if "org" in f else None
    mem = iris.membership(holder, f["title"], org)
    role = iris.ID[f"role/{iris.slug(f['title'])}"]
    yield mem, RDF.type, ORG.Membership, g
    yield mem, ORG.member, holder, g
    yield mem, ORG.role, role, g
    yield role, RDF.type, ORG.Role, g
    yield role, RDFS.label, _text(f["title"]), g
    if org is not None:
        yield mem, ORG.organization, org, g
    if claim.date is not None:
        span = iris.interval(claim.date.start, claim.date.end)
        begin, end = iris.instant(claim.date.start), iris.instant(claim.date.end)
        yield mem, ORG.memberDuring, span, g
        yield span, RDF.type, TIME.Interval, g
        yield span, TIME.hasBeginning, begin, g
        yield span, TIME.hasEnd, end, g
        for node, day in ((begin, claim.date.start), (end, claim.date.end)):
            yield node, RDF.type, TIME.Instant, g
            yield node, TIME.inXSDDate, _date(day), g


def _step_node(pledge, step, interval) -> URIRef:
    span = (interval.start, interval.end) if interval else ("undated", "undated")
    return iris.pledge_step(pledge, step, *span)


def _step(pledge, step, interval, g):
    node = _step_node(pledge, step, interval)
    yield node, RDF.type, KG.PledgeStep, g
    yield node, KG.pledge, pledge, g
    yield node, KG.step, _STEP[step], g
    yield from _timestamps(node, interval, g)


def _pledge(claim, f, g):
    p = term_of(f["pledge"])
    for who in f["by"]:
        yield p, KG.pledgedBy, term_of(who), g
    for whom in f.get("to", ()):
        yield p, KG.pledgedTo, term_of(whom), g
    if "content" in f:
        yield p, KG.content, _text(f["content"]), g
    if "meeting" in f:
        yield p, KG.meeting, term_of(f["meeting"]), g
    if "document" in f:
        yield p, KG.recordedIn, term_of(f["document"]), g
    for topic in f.get("topic", ()):
        yield p, KG.topic, term_of(topic), g
    yield from _timestamps(p, claim.date, g)
    # Making a pledge is its first step; the dated history starts here.
    yield from _step(p, "made", claim.date, g)


def _pledge_step(claim, f, g):
    p = term_of(f["pledge"])
    node = _step_node(p, f["step"], claim.date)
    yield from _step(p, f["step"], claim.date, g)
    if "actor" in f:
        yield node, KG.actor, term_of(f["actor"]), g
    if "description" in f:
        yield node, KG.description, _text(f["description"]), g


def _statement(claim, f, g):
    speaker = term_of(f["speaker"])
    s = iris.statement(speaker, f["text"])
    yield s, RDF.type, KG.Statement, g
    yield s, KG.speaker, speaker, g
    yield s, KG.quote, _text(f["text"]), g
    for topic in f.get("about", ()):
        yield s, KG.about, term_of(topic), g
    if "stance" in f:
        yield s, KG.stance, _STANCE[f["stance"]], g
    if "on_behalf_of" in f:
        yield s, KG.onBehalfOf, term_of(f["on_behalf_of"]), g
    yield from _timestamps(s, claim.date, g)


def _figure(claim, f, g):
    measure = term_of(f["measure"])
    node = iris.figure(measure, f["value"])
    yield node, RDF.type, KG.ReportedFigure, g
    yield node, KG.measure, measure, g
    yield node, KG.value, _number(f["value"]), g
    if "unit" in f:
        yield node, KG.unit, _text(f["unit"]), g
    if "given_by" in f:
        yield node, KG.givenBy, term_of(f["given_by"]), g
    if "approximate" in f:
        yield node, KG.approximate, Literal(f["approximate"]), g
    yield from _timestamps(node, claim.date, g)


def _incident(claim, f, g):
    node = term_of(f["incident"])
    for who in f.get("actor", ()):
        yield node, KG.actor, term_of(who), g
    if "place" in f:
        yield node, SEM.hasPlace, term_of(f["place"]), g
    if "description" in f:
        yield node, KG.description, _text(f["description"]), g
    yield from _timestamps(node, claim.date, g)


def _relation(claim, f, g):
    yield term_of(f["subject"]), _RELATION[f["predicate"]], term_of(f["object"]), g


def _dispute(claim, f, g):
    yield g, _DISPUTE[f["relation"]], claim_iri(f["target_claim"]), g
    if "by" in f:
        yield g, KG.disputedBy, term_of(f["by"]), g


_FACT = {"meeting": _meeting, "attendance": _attendance, "office": _office, "pledge": _pledge,
         "pledge_step": _pledge_step, "statement": _statement, "figure": _figure,
         "incident": _incident, "relation": _relation, "dispute": _dispute}


def to_dataset(quads) -> Dataset:
    """Collect quads into an ``rdflib.Dataset`` (one named graph per graph IRI)."""
    ds = Dataset()
    for prefix, ns in NAMESPACES.items():
        ds.bind(prefix, ns)
    for s, p, o, g in quads:
        ds.graph(g).add((s, p, o))
    return ds
