"""rdflib terms made from text the store has already checked.

Reading an answer makes thousands of rdflib terms: every row of a query's result, every row of
an answer kept beside the store (:mod:`kg.kept_answers`). rdflib's constructors check each IRI
again (0.5 us), infer a value for a plain string (2 us) and parse a date or an integer with
general-purpose parsers (5 and 3.7 us). Their text comes from Oxigraph, which has checked it and
keeps typed literals in canonical form, so the checks are redundant: at 100k articles, making
the terms was most of reading back the busiest actor's 1,276 meetings (6.3k distinct terms), in
a new process whose caches are empty.

The constructors here make the very objects rdflib makes, without the redundant work. rdflib's
slots are not an API, so this module checks, once when imported, that its terms equal rdflib's
in every respect (type, text, language, datatype, value, ill-typedness, hash, N3) on probes of
every kind; where they do not (another rdflib), rdflib's own constructors are used instead.

Examples
--------
>>> from rdflib import Literal, URIRef
>>> literal("2018-06-12", None, "http://www.w3.org/2001/XMLSchema#date") == Literal(
...     "2018-06-12", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date"))
True
>>> literal("2018-06-12", None, "http://www.w3.org/2001/XMLSchema#date").value
datetime.date(2018, 6, 12)
>>> plain("Kim Yong-chol") == Literal("Kim Yong-chol")
True
>>> iri("https://x/kim") == URIRef("https://x/kim")
True
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache, partial

from rdflib import Literal, URIRef
from rdflib.namespace import XSD

__all__ = ["iri", "plain", "literal", "XSD_STRING", "UNCHECKED"]

XSD_STRING = str(XSD.string)

# str.__new__ called from C (a partial): an IRI in 0.13 us
_iri_unchecked = partial(str.__new__, URIRef)


def _plain_unchecked(text: str) -> Literal:
    term = str.__new__(Literal, text)
    term._language = term._datatype = term._ill_typed = None
    term._value = text
    return term


# The typed literals made most (dates and counts, half of a large store's literals), in the
# canonical form Oxigraph writes them, with the value rdflib gives them; any other form or
# datatype, or a text the parser refuses (2018-02-30), goes to rdflib.
_CANONICAL = {
    str(XSD.date): (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), date.fromisoformat, XSD.date),
    str(XSD.integer): (re.compile(r"0|-?[1-9][0-9]*"), int, XSD.integer),
}


def _typed_unchecked(text: str, datatype: str) -> Literal | None:
    known = _CANONICAL.get(datatype)
    if known is None or known[0].fullmatch(text) is None:
        return None
    try:
        value = known[1](text)
    except ValueError:
        return None
    term = str.__new__(Literal, text)
    term._language, term._datatype, term._value, term._ill_typed = None, known[2], value, False
    return term


def _same(ours, theirs) -> bool:
    if isinstance(theirs, Literal):
        return (type(ours), str(ours), ours.language, ours.datatype, ours.value,
                ours.ill_typed, hash(ours), ours.n3()) == (
                type(theirs), str(theirs), theirs.language, theirs.datatype, theirs.value,
                theirs.ill_typed, hash(theirs), theirs.n3()) and ours.eq(theirs)
    return (type(ours), str(ours), hash(ours), ours.n3()) == (
        type(theirs), str(theirs), hash(theirs), theirs.n3())


def _agrees() -> bool:
    """Whether the unchecked constructors make rdflib's terms, on probes of every kind."""
    texts = ["", "Kim Yong-chol", " Pyongyang\n", "24", "2018-06-12", "\u00e9\U0001f600",
             "\ud800", "https://w3id.org/newskg/id/actor/x", '"quoted" \\ back']
    typed = [(d, str(XSD.date)) for d in ("2018-06-12", "0001-01-01", "9999-12-31",
                                          "2020-02-29")]
    typed += [(n, str(XSD.integer)) for n in ("0", "24", "-7", "999999999999999999")]
    try:
        return (all(_same(_plain_unchecked(t), Literal(t)) for t in texts)
                and all(_same(_iri_unchecked(i), URIRef(i)) for i in
                        ("https://w3id.org/newskg/id/actor/x", "urn:x:\u00e9", "http://a/b#c"))
                and all(_same(_typed_unchecked(t, d), Literal(t, datatype=URIRef(d)))
                        for t, d in typed))
    except Exception:  # an rdflib laid out otherwise
        return False


#: Whether this rdflib's terms are made without its checks (see the module's text).
UNCHECKED = _agrees()

if UNCHECKED:
    iri, plain = _iri_unchecked, _plain_unchecked
else:  # pragma: no cover - another rdflib
    iri, plain = URIRef, Literal
    _typed_unchecked = lambda text, datatype: None  # noqa: E731


@lru_cache(maxsize=1 << 16)
def literal(text: str, language: str | None, datatype: str | None) -> Literal:
    """The rdflib literal of ``text`` with a ``language`` tag or a ``datatype`` IRI (a plain
    string when neither, or ``xsd:string``). Shared: answers repeat the same dates and labels,
    and a literal cannot change."""
    if language:
        return Literal(text, lang=language)
    if datatype is None or datatype == XSD_STRING:
        return plain(text)
    made = _typed_unchecked(text, datatype)
    return made if made is not None else Literal(text, datatype=URIRef(datatype))
