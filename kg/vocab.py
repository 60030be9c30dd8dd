"""Vocabularies used by the graph: the project's own terms and the standard ones it reuses.

Every namespace is an rdflib ``DefinedNamespace`` with ``_fail = True``, so a misspelt term
(``KG.atendance``) raises ``AttributeError`` at import time of the code that uses it instead of
silently minting a new IRI.  The project's own terms (``KG``) are few; each one is defined, with a
label and a definition, in ``ontology/kg.ttl``, and ``tests/test_ontology.py`` checks that the two
lists agree.
"""

from rdflib import URIRef
from rdflib.namespace import DefinedNamespace, Namespace

__all__ = [
    "KG", "ID", "OA", "SEM", "ORG", "SDO", "PROV", "FOAF", "TIME",
    "NAMESPACES", "BASE",
]

#: Root of every IRI this project mints (see :mod:`kg.iris`).
BASE = "https://w3id.org/newskg/"


class KG(DefinedNamespace):
    """The project's own terms; defined in ``ontology/kg.ttl``."""

    _fail = True
    _NS = Namespace(BASE + "ontology#")

    # classes: agents
    State: URIRef  # a sovereign state acting as an agent ("North Korea", "the U.S.")
    GovernmentBody: URIRef  # ministry, department, agency, command
    MilitaryBody: URIRef
    AnonymousSource: URIRef  # "a U.S. official", "military officials", as reported
    # classes: events
    Meeting: URIRef
    Summit: URIRef
    Talks: URIRef
    Visit: URIRef
    Ceremony: URIRef
    Participation: URIRef
    Pledge: URIRef
    PledgeStep: URIRef
    Agreement: URIRef  # a signed document
    Statement: URIRef
    ReportedFigure: URIRef
    Measure: URIRef  # what a figure counts
    Topic: URIRef
    Incident: URIRef  # a dated happening that is not a meeting (a missile launch, a hand-over)
    # classes: provenance
    Claim: URIRef
    MetadataNote: URIRef

    # status individuals
    Held: URIRef
    Planned: URIRef
    Proposed: URIRef
    Postponed: URIRef
    Failed: URIRef
    Cancelled: URIRef
    Expected: URIRef
    Attended: URIRef
    Absent: URIRef
    Declined: URIRef
    Made: URIRef
    Reaffirmed: URIRef
    PartlyKept: URIRef
    Kept: URIRef
    Stalled: URIRef
    Suspended: URIRef
    Resumed: URIRef
    Broken: URIRef
    Critical: URIRef
    Supportive: URIRef
    Neutral: URIRef
    AgreementReached: URIRef
    NoAgreement: URIRef
    MeetingStatus: URIRef
    AttendanceStatus: URIRef
    PledgeStatus: URIRef
    Stance: URIRef
    Outcome: URIRef

    # properties
    status: URIRef  # meeting -> MeetingStatus
    outcome: URIRef
    proposedBy: URIRef
    topic: URIRef
    meeting: URIRef  # participation / pledge -> meeting
    participant: URIRef
    attendance: URIRef
    role: URIRef
    pledgedBy: URIRef
    pledgedTo: URIRef
    content: URIRef  # what was pledged, verbatim
    recordedIn: URIRef  # pledge -> signed document
    signedBy: URIRef
    pledge: URIRef  # pledge step -> pledge
    step: URIRef  # pledge step -> PledgeStatus
    actor: URIRef  # who took a pledge step / caused an incident
    speaker: URIRef
    quote: URIRef  # the words a statement quotes, verbatim
    about: URIRef
    stance: URIRef
    onBehalfOf: URIRef
    measure: URIRef
    value: URIRef
    unit: URIRef
    givenBy: URIRef
    approximate: URIRef
    affiliation: URIRef
    inContactWith: URIRef
    requested: URIRef
    description: URIRef
    denies: URIRef
    contradicts: URIRef
    disputes: URIRef
    disputedBy: URIRef
    accordingTo: URIRef
    outletCount: URIRef  # derived: fact node -> how many outlets report it (kg.derive)
    claimCount: URIRef  # derived: actor -> how many claims mention it (kg.derive)
    factsVersion: URIRef  # derived: the facts graph -> the rules it was made by (kg.derive)
    dateText: URIRef
    sha256: URIRef
    textFile: URIRef
    note: URIRef  # article -> MetadataNote
    noteOn: URIRef
    method: URIRef
    InferredFromText: URIRef
    StatedInText: URIRef
    Curated: URIRef
    loaderVersion: URIRef
    claimsFile: URIRef
    localId: URIRef


class OA(DefinedNamespace):
    """W3C Web Annotation vocabulary (the terms this project uses)."""

    _fail = True
    _NS = Namespace("http://www.w3.org/ns/oa#")

    Annotation: URIRef
    SpecificResource: URIRef
    TextQuoteSelector: URIRef
    TextPositionSelector: URIRef
    hasTarget: URIRef
    hasSource: URIRef
    hasSelector: URIRef
    exact: URIRef
    prefix: URIRef
    suffix: URIRef
    start: URIRef
    end: URIRef
    motivatedBy: URIRef
    describing: URIRef


class SEM(DefinedNamespace):
    """Simple Event Model (the terms this project uses)."""

    _fail = True
    _NS = Namespace("http://semanticweb.cs.vu.nl/2009/11/sem/")

    Event: URIRef
    Actor: URIRef
    Place: URIRef
    hasPlace: URIRef
    hasActor: URIRef
    hasEarliestBeginTimeStamp: URIRef
    hasLatestEndTimeStamp: URIRef
    hasTimeStamp: URIRef


class ORG(DefinedNamespace):
    """W3C Organization ontology (the terms this project uses)."""

    _fail = True
    _NS = Namespace("http://www.w3.org/ns/org#")

    Membership: URIRef
    Role: URIRef
    member: URIRef
    organization: URIRef
    role: URIRef
    memberDuring: URIRef
    subOrganizationOf: URIRef


# rdflib ships these three as closed DefinedNamespaces already.
from rdflib.namespace import FOAF, PROV, TIME  # noqa: E402
from rdflib.namespace import SDO  # noqa: E402  (https://schema.org/)

#: The namespace IRI an ID is minted under; :mod:`kg.iris` is the only module that uses it.
ID = Namespace(BASE + "id/")

#: Prefixes used in every serialization and every stored query.
NAMESPACES = {
    "kg": str(KG._NS),
    "id": str(ID),
    "oa": str(OA._NS),
    "sem": str(SEM._NS),
    "org": str(ORG._NS),
    "schema": "https://schema.org/",
    "prov": str(PROV._NS),
    "foaf": str(FOAF._NS),
    "time": str(TIME._NS),
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "wd": "http://www.wikidata.org/entity/",
}
