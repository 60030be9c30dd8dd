"""The one place that mints IRIs.

Every IRI is a pure function of stable input: an entity's registry key, an article's file stem, or
the canonical content of a claim. Building the same input twice therefore gives the same IRIs, and
an edited claim gets a new IRI (the old one disappears when its article is reloaded).

>>> str(entity("person", "mike-pompeo"))
'https://w3id.org/newskg/id/actor/mike-pompeo'
>>> claim("000_x", {"quote": "a", "statement": {"speaker": "b"}}) == claim("000_x", {"statement": {"speaker": "b"}, "quote": "a"})
True
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

from rdflib import URIRef

from .terms import iri
from .vocab import ID

__all__ = [
    "entity", "article", "article_graph", "claim", "source", "participation", "membership",
    "pledge_step", "statement", "figure", "interval", "instant", "activity", "fact",
    "ENTITIES_GRAPH", "ONTOLOGY_GRAPH", "FACTS_GRAPH", "LOADER_AGENT", "digest", "slug", "normalize_text", "category",
]

# Entity kinds grouped under one path segment each, so that an IRI survives a change of kind
# within a group (a "government" re-filed as a "ministry" keeps its IRI).
_CATEGORY = {
    "person": "actor", "state": "actor", "government": "actor", "ministry": "actor",
    "agency": "actor", "military": "actor", "organization": "actor", "outlet": "actor",
    "place": "place",
    "meeting": "event", "summit": "event", "talks": "event", "visit": "event",
    "ceremony": "event", "incident": "event",
    "pledge": "pledge", "agreement": "document", "topic": "topic", "measure": "measure",
}

ENTITIES_GRAPH = ID["graph/entities"]
ONTOLOGY_GRAPH = ID["graph/ontology"]
#: Derived from the claim graphs (see :mod:`kg.derive`), never written by an article.
FACTS_GRAPH = ID["graph/facts"]
LOADER_AGENT = ID["agent/kg-loader"]

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u00a0": " ", "\u2013": "-", "\u2014": "-"})
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def normalize_text(text: str) -> str:
    """Fold the typographic variants that differ between outlets quoting the same words.

    Curly quotes become straight, no-break spaces plain, zero-width characters vanish, runs of
    whitespace become one space, and the result is NFC and case-folded.

    >>> normalize_text("It just didn\u2019t  happen.") == normalize_text("It just didn't happen.")
    True
    """
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text).translate(_QUOTES))
    return " ".join(text.split()).casefold()


def digest(*parts: str, length: int = 16) -> str:
    """A short, stable hex digest of ``parts`` (SHA-256, unit-separator joined)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


def slug(text: str) -> str:
    """A lowercase ASCII slug; text with no ASCII letters falls back to a digest.

    >>> slug("Secretary of State")
    'secretary-of-state'
    >>> slug("김정은").startswith("x")
    True
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return out or "x" + digest(text, length=12)


def category(kind: str) -> str:
    """The IRI path segment for an entity kind; raises ``KeyError`` for an unknown kind."""
    return _CATEGORY[kind]


def entity(kind: str, key: str) -> URIRef:
    """The IRI of a registry entity."""
    return ID[f"{_CATEGORY[kind]}/{key}"]


def article(stem: str) -> URIRef:
    return ID[f"article/{stem}"]


def article_graph(stem: str) -> URIRef:
    """The named graph holding an article's metadata, its local sources and its load activity."""
    return ID[f"graph/article/{stem}"]


def source(stem: str, key: str) -> URIRef:
    """An unnamed source as one article reports it ("a U.S. official"): local to that article."""
    return ID[f"source/{stem}/{key}"]


def claim(stem: str, content: dict) -> URIRef:
    """A claim's IRI, derived from its article and its canonical content (not its local id)."""
    body = {k: v for k, v in content.items() if k != "id"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           default=str)
    return ID[f"claim/{stem}/{digest(stem, canonical)}"]


def _local(actor_iri: URIRef) -> str:
    return str(actor_iri).rsplit("/", 1)[-1] if "/actor/" in actor_iri else digest(actor_iri, length=12)


def participation(meeting_iri: URIRef, actor_iri: URIRef) -> URIRef:
    """One actor's participation in one meeting: shared by every article that reports it."""
    return URIRef(f"{meeting_iri}/participant/{_local(actor_iri)}")


def membership(holder: URIRef, title: str, org: URIRef | None) -> URIRef:
    org_part = "" if org is None else "/" + digest(org, length=8)
    return URIRef(f"{holder}/office/{slug(title)}{org_part}")


def pledge_step(pledge_iri: URIRef, step: str, start, end) -> URIRef:
    return URIRef(f"{pledge_iri}/step/{step}/{start}_{end}")


def statement(speaker: URIRef, text: str) -> URIRef:
    """A statement is who said it and what was said, whichever outlet quotes it."""
    return ID[f"statement/{digest(speaker, normalize_text(text))}"]


def figure(measure_iri: URIRef, value) -> URIRef:
    return URIRef(f"{measure_iri}/value/{slug(str(value))}")


def interval(start, end) -> URIRef:
    return ID[f"time/{start}_{end}"]


def instant(day) -> URIRef:
    return ID[f"time/{day}"]


def activity(stem: str, *fingerprints: str) -> URIRef:
    """The load of one article: the same inputs and loader give the same activity."""
    return ID[f"activity/load/{stem}/{digest(*fingerprints)}"]


_FACT = f"{ID}fact/"


def fact(subject: str, predicate: str, obj: str) -> URIRef:
    """The node standing for one reported triple, whichever claims report it.

    The parts are the triple's terms in N-Triples form, as the store keeps them, so the same
    triple always gets the same node.

    >>> fact("<https://x/a>", "<https://x/p>", '"b"') == fact("<https://x/a>", "<https://x/p>", '"b"')
    True
    """
    # a hex digest needs no check: made without rdflib's (a build makes one per fact at its end)
    return iri(f"{_FACT}{digest(subject, predicate, obj, length=20)}")
