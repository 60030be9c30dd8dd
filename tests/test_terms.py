"""kg.terms makes the terms rdflib makes, only faster: the same type, text, language, datatype,
value, ill-typedness, hash and N3, for whatever text a store or a kept answer hands it."""

from __future__ import annotations

import pickle
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from kg import terms
from kg.query import run_sparql
from kg.store import Store, from_ox, to_ox


def _facets(term):
    facets = (type(term), str(term), hash(term), term.n3())
    if isinstance(term, Literal):
        facets += (term.language, term.datatype, term.value, term.ill_typed, term.toPython())
    return facets


def _same(ours, theirs):
    return _facets(ours) == _facets(theirs) and ours.eq(theirs) and ours == theirs


def test_this_rdflib_gets_the_unchecked_constructors():
    # if this fails, rdflib's terms are laid out otherwise: kg still works, through rdflib's
    # own constructors, but reads answers back more slowly; look at kg/terms.py's checks
    assert terms.UNCHECKED


TEXTS = ["", "Kim Yong-chol", "  spaced\tout\n", "24", "2018-06-12", "u:not an IRI",
         "\u00e9\u0301 \U0001f600 \u202e", "\ud800 lone", "\x00", '"quoted" \\ back', "x" * 5000]


@pytest.mark.parametrize("text", TEXTS)
def test_plain_strings(text):
    assert _same(terms.plain(text), Literal(text))
    assert _same(terms.literal(text, None, None), Literal(text))
    assert _same(terms.literal(text, None, str(XSD.string)), Literal(text))


@pytest.mark.parametrize("text", ["https://w3id.org/newskg/id/actor/kim-yong-chol",
                                  "urn:uuid:1", "http://a/b?c=d#e", "https://x/\u00e9"])
def test_iris(text):
    assert _same(terms.iri(text), URIRef(text))


DATES = ["2018-06-12", "0001-01-01", "9999-12-31", "2020-02-29",
         # not dates, or not canonical: left to rdflib, whatever it makes of them
         "2019-02-29", "2018-02-30", "2018-13-01", "2018-6-1", "20180612", "2018-06-12Z",
         "2018-06-12+09:00", "-0044-03-15", "12018-06-12", "2018-W24-2", "٢٠١٨-٠٦-١٢", ""]
INTEGERS = ["0", "7", "-7", "24", "123456789012345678901234567890", "-0", "+5", "007",
            "1e3", "1_000", " 5", "٣", "", "x"]


@pytest.mark.parametrize("text,datatype", [(d, XSD.date) for d in DATES]
                         + [(n, XSD.integer) for n in INTEGERS]
                         + [("1.50", XSD.decimal), ("true", XSD.boolean), ("2018", XSD.gYear),
                            ("2018-06-12T10:00:00Z", XSD.dateTime), ("x", URIRef("urn:dt"))])
def test_typed_literals(text, datatype):
    assert _same(terms.literal(text, None, str(datatype)), Literal(text, datatype=datatype))


def test_random_dates_and_integers_agree_with_rdflib():
    rng = random.Random(5)
    for _ in range(2000):
        text = f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
        assert _same(terms.literal(text, None, str(XSD.date)),
                     Literal(text, datatype=XSD.date)), text
        text = str(rng.randint(-10**20, 10**20))
        assert _same(terms.literal(text, None, str(XSD.integer)),
                     Literal(text, datatype=XSD.integer)), text


@pytest.mark.parametrize("lang", ["en", "ko", "en-GB", "zh-Hant-TW"])
def test_tagged_literals(lang):
    assert _same(terms.literal("Kim", lang, None), Literal("Kim", lang=lang))


def test_the_terms_pickle_and_go_through_the_store_like_rdflib_s():
    made = [terms.plain("Kim"), terms.iri("https://x/kim"),
            terms.literal("2018-06-12", None, str(XSD.date)),
            terms.literal("24", None, str(XSD.integer))]
    for term in made:
        assert _same(pickle.loads(pickle.dumps(term)), term)
        assert _same(from_ox(to_ox(term)), term)
    store = Store()
    store.add([(made[1], URIRef("https://x/p"), o, URIRef("https://x/g")) for o in made])
    rows = run_sparql(store, "SELECT ?o WHERE { GRAPH ?g { ?s ?p ?o } }").rows
    assert sorted(rows, key=lambda r: str(r["o"])) == sorted(
        ({"o": t} for t in made), key=lambda r: str(r["o"]))


@settings(max_examples=300, deadline=None)
@given(text=st.text(), iri_tail=st.from_regex(r"[A-Za-z0-9._~/-]{0,40}", fullmatch=True),
       day=st.from_regex(r"-?[0-9]{4,5}-[0-9]{1,2}-[0-9]{1,3}", fullmatch=True),
       number=st.one_of(st.integers().map(str),
                        st.from_regex(r"[+-]?[0-9]{1,25}", fullmatch=True)))
def test_any_text_makes_rdflib_s_term(text, iri_tail, day, number):
    assert _same(terms.literal(text, None, None), Literal(text))
    assert _same(terms.iri("https://x.example/" + iri_tail),
                 URIRef("https://x.example/" + iri_tail))
    assert _same(terms.literal(day, None, str(XSD.date)), Literal(day, datatype=XSD.date))
    assert _same(terms.literal(number, None, str(XSD.integer)),
                 Literal(number, datatype=XSD.integer))
