"""Broken and hostile input files get one clear error, never a traceback or a half-built graph.

The property tests feed the loaders (claims, article metadata, entity registry) thousands of
mutated files: fields dropped, renamed and retyped, wrong kinds, hostile ids, huge strings, deep
nesting, YAML syntax garbage, truncation, random and invalid UTF-8 bytes, BOMs, tabs, NUL bytes,
anchors, aliases and merge keys, ``!!python`` tags, duplicate keys, numbers and far-off days as
dates, quotes not in the article and quotes of page furniture. The property: the loader either
returns its result or raises a :class:`kg.errors.KGError` whose text names the file (and, when the
broken claim can be identified, the claim) -- nothing else, ever.

The explicit tests pin the guards: aliases ("billion laughs") and oversized files are refused
before they cost anything, ``!!python/object/apply`` never runs, each bug these tests found stays
fixed, and the CLI turns any of it into one line and exit status 1 while the previous outputs stay
byte for byte.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.articles import Article, load_article
from kg.claims import ClaimSet, load_claim_file
from kg.entities import Entity, Registry, load_registry
from kg.errors import (AmbiguousEntity, ArticleError, ClaimError, EntityError, KGError,
                       QuoteNotFound)
from kg.yamlio import MAX_BYTES, read_yaml

from .conftest import DATA, ROOT

STEM = "000_8613253b72fdd089"
# One claim of each kind in the article (plus one with according_to), to keep each load fast.
BASE_IDS = ["headline-noshow", "talks-failed", "korean-war-dates", "noshow-stalls-pledge",
            "arrangement-by-pompeo", "pompeo-office", "we-were-ready", "unaccounted-7700",
            "pompeo-dismisses-failure", "us-left-waiting"]

FAST = dict(deadline=None, derandomize=True, database=None, print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                   HealthCheck.large_base_example])

# Where each loader's errors may point: a KGError must name one of these files.
YAML_LEVEL = ("malformed YAML", "YAML nested too deeply", "not UTF-8", "file is ",
              "not a regular file")


# --- the prepared article, registry and base files ---------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A scratch data directory, the article and registry loaded once, and the base documents."""
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    shutil.copytree(DATA, data)
    registry = load_registry(data / "entities", data / "wikidata.tsv")
    article = load_article(data / "articles" / f"{STEM}.txt")
    doc = yaml.safe_load((DATA / "claims" / f"{STEM}.yaml").read_text(encoding="utf-8"))
    doc["claims"] = [c for c in doc["claims"] if c["id"] in BASE_IDS]
    assert len(doc["claims"]) == len(BASE_IDS)
    claims_path = root / "claims" / f"{STEM}.yaml"
    claims_path.parent.mkdir()
    base_text = _dump(doc)
    claims_path.write_bytes(base_text)
    assert len(load_claim_file(claims_path, article, registry).claims) == len(BASE_IDS)
    meta = yaml.safe_load((DATA / "articles" / f"{STEM}.yaml").read_text(encoding="utf-8"))
    entities = yaml.safe_load((DATA / "entities" / "actors.yaml").read_text(encoding="utf-8"))
    return {"root": root, "data": data, "registry": registry, "article": article, "doc": doc,
            "claims_path": claims_path, "base_text": base_text, "meta": meta,
            "entities": entities}


def _dump(doc) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=False, sort_keys=False, width=4096).encode("utf-8")


# --- hostile values -----------------------------------------------------------------------------

ODD_STRINGS = ["", " ", "\t", "#", "a#b", "a b", "\u200b", "\u200d", "\x00", "\x01\x7f",
               "\ud800", "\udfff", "\ufeff", "e\u0301", "\u202e\u05e9\u05dc\u05d5\u05dd",
               "\U0001f600", "\uffff", "'", '"', "\\", "{", "}", "[", "]", "*a", "&a", "!!str",
               "<<", "null", "~", "yes", "no", "0x1F", "1e999", ".nan", "-.inf",
               "North Korea", "Pyongyang", "Pompeo", "dmz-remains-talks", "Thursday",
               "Breaking News", "Accessibility links", "9999-12-31", "0001-01-01", "2018-02-30",
               "10000", "the 9990s", "99999 years ago", "since 0001", "next year",
               "a week later", "1953-1950", "1950-1953", "x" * 5000, "__DEEP__", "__HUGE__"]

SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10 ** 40), max_value=10 ** 40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.sampled_from(ODD_STRINGS),
)
HOSTILE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.text(max_size=8), st.integers(),
                                                      st.none(), st.booleans()),
                                            inner, max_size=3)),
    max_leaves=6)
DATES = st.one_of(
    st.integers(min_value=-(10 ** 12), max_value=10 ** 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.sampled_from(["0001-01-01", "9999-12-31", "0000", "10000", "99999999", "the 9990s",
                     "late 9999", "early 0001", "since 0001", "99999 years ago",
                     "999999999999999999999 days ago", "the next 9999 years", "next year",
                     "the following year", "a week later", "1953-1950", "2018-02-30",
                     "February 30", "Thursday", "last month", "", "   ", "\u200b"]),
    HOSTILE,
)
FIELD_NAMES = st.one_of(st.sampled_from(
    ["id", "quote", "occurrence", "according_to", "meeting", "attendance", "office", "pledge",
     "pledge_step", "statement", "figure", "incident", "relation", "dispute", "date", "tense",
     "anchor", "actor", "status", "text", "speaker", "value", "target", "<<", "Quote", "ID",
     "quote ", "\u200bquote", "sources", "article", "claims"]),
    st.text(max_size=10), st.integers(), st.none(), st.booleans())


def _expand(text: bytes, draw) -> bytes:
    """Replace the deep-nesting and huge-string sentinels by the real thing (the YAML dumper
    cannot write 3,000 levels, and a 9 MB string is cheaper to paste than to generate)."""
    while b"__DEEP__" in text:
        depth = draw(st.sampled_from([5, 50, 200, 1000, 3000]))
        shape = draw(st.sampled_from(["seq", "map"]))
        deep = (b"[" * depth + b"]" * depth if shape == "seq"
                else b"{a: " * depth + b"1" + b"}" * depth)
        text = text.replace(b"__DEEP__", deep, 1)
    while b"__HUGE__" in text:
        size = draw(st.sampled_from([10 ** 4, 10 ** 5, MAX_BYTES + 10]))
        text = text.replace(b"__HUGE__", b"y" * size, 1)
    return text


# --- claim files: structured mutations ------------------------------------------------------

CLAIM_OPS = ["drop", "rename", "retype", "retype_body", "wrong_kind", "second_kind", "bad_id",
             "dup_id", "quote_missing", "quote_furniture", "quote_typography", "date",
             "occurrence", "according_to", "body_not_mapping", "claim_not_mapping",
             "deep_value", "huge_quote", "add_field", "sources", "top"]


@st.composite
def mutated_claim_file(draw, world):
    doc = copy.deepcopy(world["doc"])
    claims = doc["claims"]
    op = draw(st.sampled_from(CLAIM_OPS))
    index = draw(st.integers(0, len(claims) - 1))
    claim = claims[index]
    kind = next(k for k in claim if k not in ("id", "quote", "occurrence", "according_to"))
    article = world["article"]
    claim_level = True
    if op == "drop":
        claim.pop(draw(st.sampled_from(sorted(claim))))
    elif op == "rename":
        key = draw(st.sampled_from(sorted(claim)))
        claim[draw(FIELD_NAMES)] = claim.pop(key)
    elif op == "retype":
        claim[draw(st.sampled_from(sorted(claim)))] = draw(HOSTILE)
    elif op == "retype_body":
        body = claim[kind]
        fields = sorted(body) + ["date", "tense", "anchor", "status", "actor"]
        body[draw(st.sampled_from(fields))] = draw(HOSTILE)
    elif op == "wrong_kind":
        other = draw(st.sampled_from(["meeting", "attendance", "office", "pledge", "pledge_step",
                                      "statement", "figure", "incident", "relation", "dispute"]))
        claim[other] = claim.pop(kind)
    elif op == "second_kind":
        claim[draw(st.sampled_from(["meeting", "figure", "relation"]))] = {"x": 1}
    elif op == "bad_id":
        claim["id"] = draw(st.one_of(HOSTILE, st.sampled_from(["a#b", "", "  ", "#"])))
    elif op == "dup_id":
        claim["id"] = claims[draw(st.integers(0, len(claims) - 1))]["id"]
    elif op == "quote_missing":
        claim["quote"] = draw(st.one_of(
            st.text(min_size=1, max_size=60),
            st.just(claim["quote"] + " and then some"),
            st.just(claim["quote"].upper()),
            st.just(claim["quote"].replace(" ", "  ", 1))))
    elif op == "quote_furniture":
        start, end = draw(st.sampled_from(article.furniture))
        lo = draw(st.integers(max(0, start - 40), end - 1))
        hi = draw(st.integers(max(lo + 1, start + 1), min(len(article.text), end + 40)))
        claim["quote"] = article.text[lo:hi]
    elif op == "quote_typography":
        claim["quote"] = (claim["quote"].replace("'", "\u2019").replace('"', "\u201c")
                          .replace(" ", "\u00a0", 1))
    elif op == "date":
        claim[kind]["date"] = draw(DATES)
        if draw(st.booleans()):
            claim[kind]["tense"] = draw(st.sampled_from(["future", "past", "present", 1]))
        if draw(st.booleans()):
            claim[kind]["anchor"] = draw(DATES)
    elif op == "occurrence":
        claim["occurrence"] = draw(st.one_of(HOSTILE, st.integers(-5, 10 ** 15)))
    elif op == "according_to":
        claim["according_to"] = draw(st.one_of(
            HOSTILE, st.lists(st.sampled_from(["Pompeo", "Pyongyang", "one-official", "nobody",
                                               "american-officials"]), max_size=3)))
    elif op == "body_not_mapping":
        claim[kind] = draw(HOSTILE)
    elif op == "claim_not_mapping":
        claims[index] = draw(HOSTILE)
    elif op == "deep_value":
        claim[kind][draw(st.sampled_from(sorted(claim[kind])))] = "__DEEP__"
    elif op == "huge_quote":
        claim["quote"] = "__HUGE__"
    elif op == "add_field":
        claim[draw(FIELD_NAMES)] = draw(HOSTILE)
    else:
        claim_level = False
        if op == "sources":
            key = draw(st.sampled_from(sorted(doc["sources"])))
            what = draw(st.sampled_from(["label", "kind", "affiliation", "extra", "key", "body"]))
            if what == "key":
                doc["sources"][draw(st.sampled_from(["a b", "a>b", "x#y", "", "ok-key"]))] = \
                    doc["sources"].pop(key)
            elif what == "body":
                doc["sources"][key] = draw(HOSTILE)
            else:
                doc["sources"][key][what] = draw(st.one_of(
                    HOSTILE, st.sampled_from(["Pyongyang", "nobody", "group", "person"])))
        else:
            what = draw(st.sampled_from(["article", "claims", "sources", "extra", "drop"]))
            if what == "drop":
                doc.pop(draw(st.sampled_from(sorted(doc))))
            elif what == "extra":
                doc[draw(FIELD_NAMES)] = draw(HOSTILE)
            else:
                doc[what] = draw(HOSTILE)
    # Which item an error about the mutated claim must name.
    raw = claims[index] if claim_level and index < len(claims) else None
    expected = None
    if claim_level:
        cid = raw.get("id") if isinstance(raw, dict) else None
        expected = cid if isinstance(cid, str) and cid else f"claim #{index + 1}"
    return _expand(_dump(doc), draw), op, expected, isinstance(raw, dict)


def _check_claim_error(err: KGError, path: Path, expected, is_mapping):
    text = str(err)
    assert isinstance(err, ClaimError) or isinstance(err, KGError)
    assert err.file == str(path) and text.startswith(str(path)), text
    assert "Traceback" not in text
    if err.item is not None:
        assert str(err.item) in text
    if expected is not None and not err.message.startswith(YAML_LEVEL):
        assert err.item == expected, (text, expected)
        if is_mapping:
            assert err.line is not None, text


@pytest.fixture(scope="module")
def claim_runs(world):
    return {"ok": 0, "error": 0}


def test_mutated_claim_files_fail_cleanly(world, claim_runs):
    path = world["claims_path"]

    @settings(max_examples=700, **FAST)
    @given(mutated_claim_file(world))
    def run(case):
        text, op, expected, is_mapping = case
        path.write_bytes(text)
        try:
            result = load_claim_file(path, world["article"], world["registry"])
        except KGError as err:
            claim_runs["error"] += 1
            _check_claim_error(err, path, expected, is_mapping)
        else:
            claim_runs["ok"] += 1
            assert isinstance(result, ClaimSet)
            for claim in result.claims:  # whatever loads is anchored to the exact characters
                assert world["article"].text[claim.start:claim.end] == claim.quote

    run()
    assert claim_runs["error"] > 500  # most mutations are refused, each with a clear message


# --- claim files: byte-level garbage ------------------------------------------------------------

YAML_SNIPPETS = [
    b"x: &a [1, 2]\ny: *a\n", b"<<: {article: x}\n", b"base: &b {id: x}\nmore:\n  <<: *b\n",
    b"claims: !!python/object/apply:os.system ['echo pwned']\n",
    b"claims: !!python/object/new:os.system ['echo pwned']\n",
    b"claims: !!python/name:os.system\n", b"claims: !!python/module:os\n",
    b"article: !!binary aGVsbG8=\n", b"article: !!set {a, b}\n", b"claims: !!omap [a: 1]\n",
    b"article: !custom x\n", b"article: 000_8613253b72fdd089\n", b"claims: []\n",
    b"claims:\n- id: x\n  id: y\n", b"%YAML 1.1\n---\n", b"--- !!map\n", b"...\n", b"---\n",
    b"? [a, b]\n: c\n", b"? {a: 1}\n: c\n", b"a: b: c\n", b"- - - -\n", b"\"unterminated\n",
    b"'also\n", b"{[}]\n", b"a: 2018-02-30\n", b"a: " + b"9" * 5000 + b"\n",
    b"a: \"\\ud800\"\n", b"a: \"\\0\"\n", b"\tarticle: x\n", b"a: |\n\tb\n",
    b"lol: &l [lol]\nlol2: [*l, *l, *l, *l, *l, *l, *l, *l]\n",
]
GARBAGE = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80",
           b"\x00", b"\x1b[31m", b"\xef\xbb\xbf", b"\r", b"\r\n", b"\t", b"\x85",
           b"\xe2\x80\xa8"]


@st.composite
def garbled_bytes(draw, base: bytes):
    op = draw(st.sampled_from(["truncate", "insert", "flip", "random", "invalid_utf8", "bom",
                               "tabs", "nul", "snippet", "line_snippet", "utf16", "empty"]))
    text = base
    if op == "truncate":
        text = text[:draw(st.integers(0, len(text)))]
    elif op == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.binary(min_size=1, max_size=20)) + text[at:]
    elif op == "flip":
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + bytes([draw(st.integers(0, 255))]) + text[at + 1:]
    elif op == "random":
        text = draw(st.binary(max_size=400))
    elif op == "invalid_utf8":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(GARBAGE)) + text[at:]
    elif op == "bom":
        text = b"\xef\xbb\xbf" + text
    elif op == "utf16":
        text = b"\xff\xfe" + text.decode("utf-8").encode("utf-16-le")
    elif op == "tabs":
        lines = text.split(b"\n")
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = lines[at].replace(b"  ", b"\t")
        text = b"\n".join(lines)
    elif op == "nul":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + b"\x00" + text[at:]
    elif op == "snippet":
        text = text + b"\n" + draw(st.sampled_from(YAML_SNIPPETS))
    elif op == "line_snippet":
        lines = text.split(b"\n")
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from(YAML_SNIPPETS)).rstrip(b"\n"))
        text = b"\n".join(lines)
    elif op == "empty":
        text = draw(st.sampled_from([b"", b"\n", b"---\n", b"~\n", b"[]\n", b"0\n", b"''\n"]))
    return text


def test_garbled_claim_bytes_fail_cleanly(world):
    path = world["claims_path"]

    @settings(max_examples=500, **FAST)
    @given(garbled_bytes(world["base_text"]))
    def run(text):
        path.write_bytes(text)
        try:
            result = load_claim_file(path, world["article"], world["registry"])
        except KGError as err:
            _check_claim_error(err, path, None, False)
        else:
            assert isinstance(result, ClaimSet)

    run()


# --- article metadata -----------------------------------------------------------------------

META_OPS = ["drop", "retype", "rename", "notes", "note", "furniture", "furniture_piece", "sha",
            "published", "headline", "extra", "text_bytes", "garble"]


@st.composite
def mutated_article(draw, world):
    meta = copy.deepcopy(world["meta"])
    text = (DATA / "articles" / f"{STEM}.txt").read_bytes()
    op = draw(st.sampled_from(META_OPS))
    if op == "drop":
        meta.pop(draw(st.sampled_from(sorted(meta))))
    elif op == "retype":
        meta[draw(st.sampled_from(sorted(meta)))] = draw(HOSTILE)
    elif op == "rename":
        meta[draw(st.sampled_from(["furnture", "Furniture", "note", "outlet ", 5, None]))] = \
            meta.pop(draw(st.sampled_from(sorted(meta))))
    elif op == "notes":
        meta["notes"] = draw(HOSTILE)
    elif op == "note":
        field = draw(st.sampled_from(["outlet", "published", "headline", "author", 1]))
        meta["notes"][field] = draw(st.one_of(HOSTILE, st.fixed_dictionaries(
            {"method": st.one_of(HOSTILE, st.sampled_from(["stated", "inferred", "guessed"])),
             "evidence": HOSTILE})))
    elif op == "furniture":
        meta["furniture"] = draw(st.one_of(HOSTILE, st.just("Breaking News")))
    elif op == "furniture_piece":
        meta["furniture"].append(draw(st.one_of(HOSTILE, st.just("not in the text"),
                                                st.just(""))))
    elif op == "sha":
        meta["sha256"] = draw(st.one_of(HOSTILE, st.just(meta["sha256"].upper()),
                                        st.just(meta["sha256"][:-1])))
    elif op == "published":
        meta["published"] = draw(DATES)
    elif op == "headline":
        meta["headline"] = draw(st.one_of(HOSTILE, st.just("Not the headline")))
    elif op == "extra":
        meta[draw(FIELD_NAMES)] = draw(HOSTILE)
    elif op == "text_bytes":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(GARBAGE + [b"x"])) + text[at:]
    raw = _expand(_dump(meta), draw)
    if op == "garble":
        raw = draw(garbled_bytes(raw))
    return raw, text


def test_mutated_article_metadata_fails_cleanly(world):
    folder = world["root"] / "articles"
    folder.mkdir(exist_ok=True)
    text_path, meta_path = folder / f"{STEM}.txt", folder / f"{STEM}.yaml"

    @settings(max_examples=300, **FAST)
    @given(mutated_article(world))
    def run(case):
        meta, text = case
        meta_path.write_bytes(meta)
        text_path.write_bytes(text)
        try:
            result = load_article(text_path)
        except KGError as err:
            assert isinstance(err, ArticleError), repr(err)
            assert err.file in (str(text_path), str(meta_path)), str(err)
            assert str(err).startswith(err.file)
        else:
            assert isinstance(result, Article)
            assert hashlib.sha256(text).hexdigest() == result.sha256

    run()


# --- the entity registry --------------------------------------------------------------------

ENTITY_OPS = ["drop", "retype", "rename", "key", "kind", "wikidata", "part_of", "aliases",
              "body", "duplicate", "garble"]


@st.composite
def mutated_entities(draw, world):
    doc = copy.deepcopy(world["entities"])
    op = draw(st.sampled_from(ENTITY_OPS))
    key = draw(st.sampled_from(sorted(doc)))
    body = doc[key]
    if op == "drop":
        body.pop(draw(st.sampled_from(sorted(body))))
    elif op == "retype":
        body[draw(st.sampled_from(sorted(body) + ["part_of", "wikidata"]))] = draw(HOSTILE)
    elif op == "rename":
        body[draw(FIELD_NAMES)] = body.pop(draw(st.sampled_from(sorted(body))))
    elif op == "key":
        doc[draw(st.one_of(SCALARS,
                           st.sampled_from(["a b", "a>b", "a/b", "a#b", "a%b", "-x", ".",
                                            "\u200b", "\u0301x", "김정은"])))] = doc.pop(key)
    elif op == "kind":
        body["kind"] = draw(st.one_of(HOSTILE, st.sampled_from(["place", "meeting", "Person"])))
    elif op == "wikidata":
        body["wikidata"] = draw(st.one_of(HOSTILE, st.sampled_from(["Q1", "Q22686", "q22686",
                                                                    "Q22686 ", "P31"])))
    elif op == "part_of":
        body["part_of"] = draw(st.one_of(HOSTILE, st.sampled_from(sorted(doc)),
                                         st.just(key), st.just("nobody")))
    elif op == "aliases":
        body["aliases"] = draw(st.one_of(HOSTILE, st.lists(st.sampled_from(ODD_STRINGS),
                                                           max_size=3)))
    elif op == "body":
        doc[key] = draw(HOSTILE)
    elif op == "duplicate":
        doc["pyongyang"] = copy.deepcopy(body)  # a key defined in places.yaml too
    raw = _expand(_dump(doc), draw)
    if op == "garble":
        raw = draw(garbled_bytes(raw))
    return raw


def test_mutated_entity_files_fail_cleanly(world):
    folder = world["root"] / "entities"
    if not folder.exists():
        shutil.copytree(world["data"] / "entities", folder)
    path = folder / "actors.yaml"
    tsv = world["data"] / "wikidata.tsv"
    allowed = {str(p) for p in folder.glob("*.yaml")} | {str(tsv)}

    @settings(max_examples=300, **FAST)
    @given(mutated_entities(world))
    def run(raw):
        path.write_bytes(raw)
        try:
            result = load_registry(folder, tsv)
        except KGError as err:
            assert isinstance(err, EntityError), repr(err)
            assert err.file in allowed, str(err)
            assert str(err).startswith(err.file)
        else:
            assert isinstance(result, Registry)

    run()


# --- explicit guards ----------------------------------------------------------------------------

def test_billion_laughs_is_refused_at_the_first_alias(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        lines.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [" +
                     ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size < 1024
    started = time.perf_counter()
    with pytest.raises(ClaimError, match=r"laughs\.yaml:2: malformed YAML: YAML aliases"):
        read_yaml(path, ClaimError)
    assert time.perf_counter() - started < 1.0


def test_ten_megabyte_file_is_refused_by_size_unparsed(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as out:  # valid YAML, so only the size can refuse it
        out.write(b"article: x\nclaims:\n")
        line = b"  - {id: c, quote: " + b"x" * 1000 + b"}\n"
        while out.tell() < 10 * 1024 * 1024:
            out.write(line)
    started = time.perf_counter()
    with pytest.raises(ClaimError, match=r"big\.yaml: file is \d+ bytes, over the "
                                         rf"{MAX_BYTES}-byte limit"):
        read_yaml(path, ClaimError)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system",
                                 "!!python/object/new:os.system",
                                 "!!python/object/apply:subprocess.check_call"])
def test_python_tags_are_refused_and_never_run(tmp_path, tag):
    canary = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    arg = f'["touch {canary}"]' if "os.system" in tag else f'[["touch", "{canary}"]]'
    path.write_text(f"article: {STEM}\nclaims: {tag} {arg}\n")
    with pytest.raises(ClaimError, match=r"evil\.yaml:2: malformed YAML: could not determine "
                                         r"a constructor for the tag"):
        read_yaml(path, ClaimError)
    assert not canary.exists()


def test_directory_or_fifo_in_place_of_a_file_is_refused(tmp_path):
    import os
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(ClaimError, match="not a regular file"):
        read_yaml(tmp_path / "dir.yaml", ClaimError)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ClaimError, match="not a regular file"):  # and does not block
        read_yaml(fifo, ClaimError)


# --- each bug these tests found stays fixed ---------------------------------------------------

def _claims(world, text: str) -> Path:
    path = world["claims_path"]
    path.write_text(f"article: {STEM}\n" + text, encoding="utf-8")
    return path


def _load(world, text):
    return load_claim_file(_claims(world, text), world["article"], world["registry"])


@pytest.mark.parametrize("text, message", [
    ("claims:\n- id: x\n  id: y\n", r":4: malformed YAML: key 'id' given twice"),
    ("claims:\n- {id: x, quote: North Korea, attendance: {<<: {meeting: dmz-remains-talks}, "
     "actor: North Korea, status: absent}}\n", r":3: malformed YAML: YAML merge keys"),
    ("claims:\n- id: x\n  quote: North Korea\n  figure: {measure: us-unaccounted-korean-war, "
     "value: " + "9" * 5000 + "}\n", r":5: malformed YAML: cannot read this value"),
    ("claims:\n- id: x\n  quote: North Korea\n  attendance: {meeting: dmz-remains-talks, "
     "actor: North Korea, status: absent, date: 2018-02-30}\n",
     r":5: malformed YAML: cannot read this value: day is out of range"),
    ("claims:\n- id: x\n  quote: North Korea\n  attendance: {meeting: dmz-remains-talks, "
     "actor: North Korea, status: absent, role: \"neg\\ud800\"}\n",
     r":5: malformed YAML: (text holds a lone surrogate|found invalid Unicode character escape)"),
    ("sources:\n  a b: {label: someone}\nclaims: []\n", r": sources\.a b: a source key must be"),
    ("sources:\n  5: {label: someone}\nclaims: []\n", r": sources\.5: a source key must be"),
    ("sources:\n  s: {label: '  '}\nclaims: []\n", r": sources\.s: a source needs a label"),
])
def test_found_bugs_claim_files(world, text, message):
    """Each of these raised a raw Python exception or loaded silently wrong data before."""
    with pytest.raises(ClaimError, match=message):
        _load(world, text)


def test_ambiguous_affiliation_names_file_and_source(world):
    twin = Entity("pompeo-twin", "person", "Mike Pompeo II", ("Pompeo",), file="x.yaml")
    registry = Registry(list(world["registry"]) + [twin])
    path = _claims(world, "sources:\n  s: {label: someone, affiliation: Pompeo}\nclaims: []\n")
    with pytest.raises(AmbiguousEntity) as err:
        load_claim_file(path, world["article"], registry)
    assert str(err.value).startswith(f"{path}: sources.s: affiliation: 'Pompeo' could be")


def _article_with(tmp_path, meta_edit=None, stem=STEM) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir(exist_ok=True)
    text = folder / f"{stem}.txt"
    shutil.copy(DATA / "articles" / f"{STEM}.txt", text)
    meta = yaml.safe_load((DATA / "articles" / f"{STEM}.yaml").read_text(encoding="utf-8"))
    if meta_edit:
        meta_edit(meta)
    text.with_suffix(".yaml").write_text(yaml.safe_dump(meta, allow_unicode=True),
                                         encoding="utf-8")
    return text


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(notes=[1, 2]), r"notes: 'notes' must be a mapping"),
    (lambda m: m.update(notes={1: {"method": "stated", "evidence": "x"},
                               "outlet": {"method": "stated", "evidence": "x"}}),
     r": 1: unknown metadata note '1'"),
    (lambda m: m["notes"]["outlet"].update(method=["stated"]),
     r"notes\.outlet: note needs method"),
    (lambda m: m.update(furniture="Breaking News"), r"furniture: 'furniture' must be a list"),
    (lambda m: m.update(furniture=5), r"furniture: 'furniture' must be a list"),
    (lambda m: m.update(furnture=m.pop("furniture")), r"unknown field\(s\): furnture"),
])
def test_found_bugs_article_metadata(tmp_path, edit, message):
    with pytest.raises(ArticleError, match=message):
        load_article(_article_with(tmp_path, edit))


@pytest.mark.parametrize("stem", ["a b", "a>b", "a{b", "a%zz", "a#b", "-x"])
def test_article_file_name_must_fit_in_an_iri(tmp_path, stem):
    with pytest.raises(ArticleError, match="file name must start with a letter or digit"):
        load_article(_article_with(tmp_path, stem=stem))


def test_article_text_over_the_limit_is_refused_unread(tmp_path, monkeypatch):
    import kg.articles
    monkeypatch.setattr(kg.articles, "MAX_TEXT_BYTES", 1000)
    with pytest.raises(ArticleError, match=r"\.txt: article is \d+ bytes, over the 1000-byte"):
        load_article(_article_with(tmp_path))


def _registry_with(tmp_path, text: str, tsv: bytes | None = None):
    folder = tmp_path / "entities"
    shutil.copytree(DATA / "entities", folder)
    (folder / "extra.yaml").write_text(text, encoding="utf-8")
    path = tmp_path / "wikidata.tsv"
    path.write_bytes((DATA / "wikidata.tsv").read_bytes() if tsv is None else tsv)
    return load_registry(folder, path)


@pytest.mark.parametrize("text, tsv, message", [
    ("x:\n  kind: [person]\n  label: X\n", None, r"extra\.yaml: x: kind must be one of"),
    ("x:\n  kind: person\n  label: X\n  wikidata: [Q1]\n", None,
     r"extra\.yaml: x: wikidata must be an id like Q42"),
    ("x:\n  kind: person\n  label: X\n  wikidata: {a: 1}\n", None,
     r"extra\.yaml: x: wikidata must be an id like Q42"),
    ('"a>b":\n  kind: person\n  label: X\n', None, r"extra\.yaml: a>b: an entity key must be"),
    ('"a%b":\n  kind: person\n  label: X\n', None, r"extra\.yaml: a%b: an entity key must be"),
    ("x:\n  kind: government\n  label: X\n  part_of: y\ny:\n  kind: government\n  label: Y\n"
     "  part_of: x\n", None, r"extra\.yaml: x: part_of goes round in a circle: x -> y -> x"),
    ("x:\n  kind: government\n  label: X\n  part_of: x\n", None, r"part_of goes round"),
    ("x:\n  kind: person\n  label: X\n", b"\xff\xfe", r"wikidata\.tsv: cannot read the "
                                                      r"verified Wikidata list"),
    ("x:\n  kind: person\n  label: X\n", b"id\tname\nQ1\tx\n", r"wikidata\.tsv: the verified "
                                                               r"Wikidata list needs a header"),
])
def test_found_bugs_entity_files(tmp_path, text, tsv, message):
    with pytest.raises(EntityError, match=message):
        _registry_with(tmp_path, text, tsv)


# --- the CLI: one line, exit 1, previous outputs untouched ---------------------------------------

BROKEN = {
    "yaml-syntax": lambda t: t.replace(b"claims:", b"claims: [", 1),
    "python-tag": lambda t: t.replace(b"claims:", b"evil: !!python/object/apply:os.system "
                                                b"['touch PWNED']\nclaims:", 1),
    "invalid-utf8": lambda t: t.replace(b"Thursday", b"Thursd\xffay", 1),
    "truncated": lambda t: t[:len(t) // 2 + 7],
    "surrogate": lambda t: t.replace(b"role: negotiators", b'role: "neg\\ud800"', 1),
    "huge-int": lambda t: t.replace(b"value: 7700", b"value: " + b"7" * 5000, 1),
    "alias": lambda t: t.replace(b"claims:", b"x: &a 1\ny: *a\nclaims:", 1),
    "duplicate-key": lambda t: t.replace(b"claims:", b"article: again\nclaims:", 1),
    "nul": lambda t: t.replace(b"Thursday", b"Thurs\x00day", 1),
    "bad-id": lambda t: t.replace(b"- id: noshow-nk", b"- id: [noshow-nk]", 1),
}


@pytest.fixture(scope="module")
def cli_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data, out = root / "data", root / "out"
    shutil.copytree(DATA, data)
    done = subprocess.run([sys.executable, "-m", "kg.cli", "build", "--data", str(data),
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return data, out


def _snapshot(out: Path) -> dict:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_cli_turns_broken_input_into_one_line(cli_world, name, tmp_path):
    data, out = cli_world
    path = data / "claims" / f"{STEM}.yaml"
    original = path.read_bytes()
    before = _snapshot(out)
    path.write_bytes(BROKEN[name](original))
    try:
        done = subprocess.run([sys.executable, "-m", "kg.cli", "build", "--data", str(data),
                               "--out", str(out)], capture_output=True, text=True,
                              cwd=tmp_path)
    finally:
        path.write_bytes(original)
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert re.match(rf"Error: {re.escape(str(path))}(:\d+)?: ", lines[0]), lines[0]
    assert _snapshot(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]
    assert not (tmp_path / "PWNED").exists()


# --- RDF import: only formats that can neither fetch nor expand ---------------------------------

def _laughs(levels: int = 9, external: str | None = None) -> str:
    ents = ['<!ENTITY lol0 "lol">']
    ents += [f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, levels + 1)]
    if external:
        ents.append(f'<!ENTITY ext SYSTEM "{external}">')
    use = "&ext;" if external else f"&lol{levels};"
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [ {" ".join(ents)} ]>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:ex="http://example.org/">\n'
            f'<rdf:Description rdf:about="http://example.org/a"><ex:p>{use}</ex:p>'
            '</rdf:Description></rdf:RDF>\n')


@pytest.fixture()
def canary():
    """An HTTP server on loopback that records every request made to it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            hits.append(self.path)
            body = b'{"@context": {"name": "http://schema.org/name"}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


GRAPH = "http://example.org/imported"


def test_rdfxml_billion_laughs_is_refused_unread(tmp_path, canary):
    from kg.rdfimport import import_rdf
    from kg.store import Store
    url, hits = canary
    store = Store()
    for name, text in (("laughs.rdf", _laughs()), ("laughs.owl", _laughs()),
                       ("xxe.xml", _laughs(1, external=f"{url}/xxe"))):
        path = tmp_path / name
        path.write_text(text)
        assert path.stat().st_size < 2048
        started = time.perf_counter()
        with pytest.raises(KGError, match=rf"^{re.escape(str(path))}: RDF/XML is refused"):
            import_rdf(path, store, GRAPH)
        assert time.perf_counter() - started < 1.0
    # renamed, or with the format forced, it is still recognised as XML and refused unparsed
    for name, fmt in (("laughs.ttl", None), ("laughs.nt", None), ("laughs.data", "turtle")):
        path = tmp_path / name
        path.write_text(_laughs(external=f"{url}/xxe"))
        with pytest.raises(KGError, match=rf"^{re.escape(str(path))}:1: this file is XML"):
            import_rdf(path, store, GRAPH, fmt=fmt)
    assert len(store) == 0 and hits == []


def test_jsonld_with_remote_context_is_refused_and_nothing_is_fetched(tmp_path, canary):
    import json as jsonlib

    from kg.rdfimport import import_rdf
    from kg.store import Store
    url, hits = canary
    doc = jsonlib.dumps({"@context": f"{url}/context.jsonld", "@id": "http://example.org/a",
                         "name": "x"})
    store = Store()
    for name in ("remote.jsonld", "remote.json"):
        path = tmp_path / name
        path.write_text(doc)
        with pytest.raises(KGError, match=rf"^{re.escape(str(path))}: JSON-LD is refused"):
            import_rdf(path, store, GRAPH)
    with pytest.raises(KGError, match="JSON-LD is refused"):
        import_rdf(tmp_path / "remote.ttl", store, GRAPH, fmt="json-ld")
    path = tmp_path / "disguised.ttl"  # JSON-LD named as Turtle: a Turtle syntax error, no fetch
    path.write_text(doc)
    with pytest.raises(KGError, match=rf"^{re.escape(str(path))}:1: "):
        import_rdf(path, store, GRAPH)
    assert len(store) == 0 and hits == []


def test_malformed_turtle_names_file_and_line_and_adds_nothing(tmp_path):
    from kg.rdfimport import import_rdf
    from kg.store import Store
    store = Store()
    good = tmp_path / "good.ttl"
    good.write_text('@prefix ex: <http://example.org/> .\nex:a ex:p "1" .\n'
                    'ex:a ex:q [ ex:r "\u00e9\U0001f600" ] .\n')
    assert import_rdf(good, store, GRAPH) == 3
    assert {q.graph_name.value for q in store.raw} == {GRAPH}
    before = set(store.raw)
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://example.org/> .\nex:b ex:p "2" .\n'
                   'ex:b ex:p "unterminated .\n')
    with pytest.raises(KGError) as err:
        import_rdf(bad, store, GRAPH)
    assert str(err.value).startswith(f"{bad}:3: ") and err.value.line == 3, str(err.value)
    assert set(store.raw) == before  # the valid first triple of bad.ttl was not added either


@pytest.mark.parametrize("name, text, message", [
    ("graphs.trig", "@prefix ex: <http://example.org/> .\nex:g { ex:a ex:p ex:b }\n",
     "names graph <http://example.org/g>: named graphs are refused"),
    ("graphs.nq", "<http://e/a> <http://e/p> <http://e/b> <http://e/g> .\n",
     "names graph <http://e/g>: named graphs are refused"),
    ("bad.nt", "<http://e/a> <http://e/p> .\n", ":1: "),
    ("relative.ttl", "<a> <p> <b> .\n", ":1: "),
    ("utf16.ttl", "\ufeff<http://e/a> <http://e/p> <http://e/b> .\n".encode("utf-16"), ":1: "),
    ("data.n3", "@prefix : <#> .\n", "cannot tell the RDF format from '.n3'"),
    ("data", "", "cannot tell the RDF format"),
])
def test_import_refuses_what_it_cannot_take_safely(tmp_path, name, text, message):
    from kg.rdfimport import import_rdf
    from kg.store import Store
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    store = Store()
    with pytest.raises(KGError, match=re.escape(message)) as err:
        import_rdf(path, store, GRAPH)
    assert str(err.value).startswith(str(path))
    assert len(store) == 0


def test_import_may_not_write_into_the_project_graphs(tmp_path):
    from kg import iris
    from kg.rdfimport import import_rdf
    from kg.store import Store
    path = tmp_path / "x.nt"
    path.write_text("<http://e/a> <http://e/p> <http://e/b> .\n")
    for graph in (str(iris.ENTITIES_GRAPH), str(iris.article_graph(STEM)), "urn:x", "nope"):
        with pytest.raises(KGError, match=re.escape(str(path))):
            import_rdf(path, Store(), graph)


def test_import_limits_size_time_and_memory_and_the_caller_survives(tmp_path):
    from kg.rdfimport import import_rdf
    from kg.store import Store
    path = tmp_path / "x.nt"
    path.write_text("<http://e/a> <http://e/p> <http://e/b> .\n" * 100)
    store = Store()
    with pytest.raises(KGError, match=r"over the 100-byte import limit"):
        import_rdf(path, store, GRAPH, max_bytes=100)
    with pytest.raises(KGError, match=r"parsing took longer than 0.001 s"):
        import_rdf(path, store, GRAPH, timeout=0.001)
    with pytest.raises(KGError, match=r"the parser failed \(exit status"):
        import_rdf(path, store, GRAPH, memory_bytes=32 * 1024 * 1024)
    assert len(store) == 0
    assert import_rdf(path, store, GRAPH) == 100 and len(store) == 1  # the caller is fine


def test_why_rdfxml_is_refused_pyoxigraph_expands_entities(tmp_path):
    """The hazard the refusal avoids: parsing the 1 KB file in-process aborts the process."""
    path = tmp_path / "laughs.rdf"
    path.write_text(_laughs())
    code = ("import resource, pyoxigraph as ox\n"
            "resource.setrlimit(resource.RLIMIT_AS, (768 << 20, 768 << 20))\n"
            f"q = list(ox.parse(path={str(path)!r}, format=ox.RdfFormat.RDF_XML))\n"
            "print('parsed', len(q[0].object.value))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={"RUST_BACKTRACE": "0", "PATH": ""})
    assert done.returncode != 0 and "parsed" not in done.stdout


@pytest.mark.parametrize("grown,limit,whole", [(100, 1000, True), (100, 50, False)])
def test_a_file_that_grows_after_stat_is_read_whole_or_refused(tmp_path, monkeypatch, grown,
                                                                limit, whole):
    """read_bounded sizes its read by stat(): a file longer by the time it is read is read to
    its end when that is within the limit, and refused when it is over."""
    import os

    from kg.errors import InputError
    from kg.fsio import read_bounded

    path = tmp_path / "growing.yaml"
    path.write_bytes(b"x" * grown)
    real_stat = Path.stat

    def stale_stat(self, *a, **k):  # what stat() said before the file grew to `grown` bytes
        info = real_stat(self, *a, **k)
        return os.stat_result(info[:6] + (10,) + info[7:]) if self == path else info

    monkeypatch.setattr(Path, "stat", stale_stat)
    if whole:
        assert read_bounded(path, limit, InputError) == b"x" * grown
    else:
        with pytest.raises(InputError, match="growing.yaml: file is over the 50-byte limit"):
            read_bounded(path, limit, InputError)
