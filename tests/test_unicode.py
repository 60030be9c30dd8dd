"""Text beyond ASCII: diacritics, Korean, combining marks, right-to-left scripts, zero-width
characters and characters outside the Basic Multilingual Plane (emoji).

An article holding all of them is added to a scratch copy of data/, with entities labelled in
those scripts and claims quoting and naming them, and built end to end. Checked: each quote is
anchored at the right place, ``oa:start``/``oa:end`` count Unicode code points of the decoded
text (so ``text[start:end] == quote`` in Python, where an emoji is one character, not two UTF-16
units or four bytes), the unit is documented, and names resolve to one entity whatever their
Unicode normal form or invisible joiners -- in the loader's registry and in the query layer.
"""

from __future__ import annotations

import hashlib
import shutil
import unicodedata

import pytest
import yaml

from kg import iris
from kg.errors import QuoteNotFound
from kg.pipeline import build, load_corpus
from kg.query import evidence, resolve_name, run_named
from kg.store import Store

from .conftest import DATA, ROOT

STEM = "900_unicode"
NFC_JOSE = unicodedata.normalize("NFC", "Jos\u00e9 Mart\u00ed")
NFD_JOSE = unicodedata.normalize("NFD", NFC_JOSE)
assert NFC_JOSE != NFD_JOSE

TEXT = (
    "Unicode Summit Report\n\n"
    "North Korean leader \uae40\uc815\uc740 met Mr. " + NFC_JOSE + " in Pyongyang "
    "\U0001f1f0\U0001f1f5 on Thursday.\n\n"
    "The crowd cheered \U0001f389\U0001f389 as Kim Jong Un arrived.\n\n"
    "The envoy " + NFD_JOSE + " smiled; his aide wrote \u201cna\u00efve\u201d in the margin.\n\n"
    "Al Jazeera (\u0627\u0644\u062c\u0632\u064a\u0631\u0629) reported that the talks were "
    "\u201cproductive\u201d.\n\n"
    "Yedioth (\u05d9\u05d3\u05d9\u05e2\u05d5\u05ea \u05d0\u05d7\u05e8\u05d5\u05e0\u05d5\u05ea) "
    "said the meeting was \u201ca\u200b failure\u201d.\n\n"
    "\uae40\uc815\uc740 said: \u201cWe will meet again \U0001f600 soon.\u201d\n"
)

ENTITIES = {
    "jose-marti": {"kind": "person", "label": NFC_JOSE, "aliases": ["Mr. Mart\u00ed"]},
    "al-jazeera": {"kind": "outlet", "label": "\u0627\u0644\u062c\u0632\u064a\u0631\u0629",
                   "aliases": ["Al Jazeera"]},
    "yedioth": {"kind": "outlet",
                "label": "\u05d9\u05d3\u05d9\u05e2\u05d5\u05ea "
                         "\u05d0\u05d7\u05e8\u05d5\u05e0\u05d5\u05ea",
                "aliases": ["Yedioth"]},
    "\u00e9lys\u00e9e": {"kind": "government", "label": "\u00c9lys\u00e9e Palace"},
}

CLAIMS = [
    {"id": "kim-speaks", "quote": "\uae40\uc815\uc740 said: \u201cWe will meet again \U0001f600 "
                                  "soon.\u201d",
     "statement": {"speaker": "\uae40\uc815\uc740", "text": "We will meet again \U0001f600 soon.",
                   "date": "Thursday"}},
    {"id": "emoji-quote", "quote": "We will meet again \U0001f600 soon.",
     "statement": {"speaker": "Kim\u200d Jong Un", "text": "We will meet again \U0001f600 soon."}},
    {"id": "kim-attends", "quote": "The crowd cheered \U0001f389\U0001f389 as Kim Jong Un arrived",
     "attendance": {"meeting": "singapore-summit", "actor": "\uae40\u200d\uc815\uc740",
                    "status": "attended"}},
    {"id": "jose-attends-nfd-name", "quote": "met Mr. " + NFC_JOSE + " in Pyongyang "
                                             "\U0001f1f0\U0001f1f5",
     "attendance": {"meeting": "singapore-summit", "actor": NFD_JOSE, "status": "attended"}},
    {"id": "jose-attends-nfd-quote", "quote": "The envoy " + NFD_JOSE + " smiled",
     "attendance": {"meeting": "singapore-summit", "actor": NFC_JOSE, "status": "attended"}},
    {"id": "arabic-says", "quote": "Al Jazeera (\u0627\u0644\u062c\u0632\u064a\u0631\u0629) "
                                   "reported that the talks were \u201cproductive\u201d",
     "statement": {"speaker": "\u0627\u0644\u062c\u0632\u064a\u0631\u0629",
                   "text": "productive", "stance": "supportive"}},
    {"id": "hebrew-says", "quote": "Yedioth (\u05d9\u05d3\u05d9\u05e2\u05d5\u05ea "
                                   "\u05d0\u05d7\u05e8\u05d5\u05e0\u05d5\u05ea) said the "
                                   "meeting was \u201ca\u200b failure\u201d",
     "statement": {"speaker": "\u05d9\u05d3\u05d9\u05e2\u05d5\u05ea "
                              "\u05d0\u05d7\u05e8\u05d5\u05e0\u05d5\u05ea",
                   "text": "a\u200b failure", "stance": "critical"}},
]


def _write_world(data):
    articles = data / "articles"
    raw = TEXT.encode("utf-8")
    (articles / f"{STEM}.txt").write_bytes(raw)
    meta = {"sha256": hashlib.sha256(raw).hexdigest(), "outlet": "voa",
            "published": "2018-07-12", "headline": "Unicode Summit Report",
            "notes": {"headline": {"method": "stated", "evidence": "first line"}}}
    (articles / f"{STEM}.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True),
                                           encoding="utf-8")
    (data / "entities" / "unicode.yaml").write_text(
        yaml.safe_dump(ENTITIES, allow_unicode=True), encoding="utf-8")
    actors = data / "entities" / "actors.yaml"
    text = actors.read_text(encoding="utf-8")
    assert "aliases: [Kim, " in text
    actors.write_text(text.replace("aliases: [Kim, ", "aliases: [\uae40\uc815\uc740, Kim, ", 1),
                      encoding="utf-8")
    (data / "claims" / f"{STEM}.yaml").write_text(
        yaml.safe_dump({"article": STEM, "claims": CLAIMS}, allow_unicode=True, sort_keys=False),
        encoding="utf-8")


@pytest.fixture(scope="module")
def uni(tmp_path_factory):
    root = tmp_path_factory.mktemp("unicode")
    data = root / "data"
    shutil.copytree(DATA, data)
    _write_world(data)
    build(data, root / "out")
    return {"data": data, "out": root / "out",
            "store": Store(root / "out" / "store", read_only=True)}


def test_file_round_trips_byte_for_byte(uni):
    assert (uni["data"] / "articles" / f"{STEM}.txt").read_bytes() == TEXT.encode("utf-8")


def test_offsets_count_code_points_and_slice_the_quote(uni):
    store = uni["store"]
    claims = [g for g in store.graphs_of_article(STEM) if "/claim/" in str(g)]
    assert len(claims) == len(CLAIMS)
    found = evidence(store, claims)
    assert len(found) == len(CLAIMS)
    quotes = {c["quote"] for c in CLAIMS}
    for ev in found.values():
        assert TEXT[ev["start"]:ev["end"]] == ev["quote"]
        assert ev["end"] - ev["start"] == len(ev["quote"])
        assert ev["quote"] in quotes
    emoji = next(ev for ev in found.values()
                 if ev["quote"] == "We will meet again \U0001f600 soon.")
    start = TEXT.index(emoji["quote"])
    # four emoji before it (two flags' regional indicators, two party poppers): a UTF-16 or
    # byte count would differ
    utf16 = len(TEXT[:start].encode("utf-16-le")) // 2
    utf8 = len(TEXT[:start].encode("utf-8"))
    assert emoji["start"] == start and emoji["start"] not in (utf16, utf8)
    assert emoji["end"] - emoji["start"] == 26  # 25 ASCII characters and one emoji


def test_the_unit_is_documented():
    import kg.articles
    assert "code points" in kg.articles.__doc__
    assert "code points (not bytes)" in (ROOT / "ontology" / "kg.ttl").read_text()
    from kg.claims import Claim
    assert "code points" in Claim.__doc__


def test_quote_in_another_normal_form_is_not_verbatim(uni, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(uni["data"], data)
    path = data / "claims" / f"{STEM}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["claims"][4]["quote"] = "The envoy " + NFC_JOSE + " smiled"  # the text has it NFD
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(QuoteNotFound, match="jose-attends-nfd-quote.*differ in quotes"):
        load_corpus(data, only=[STEM])


def test_korean_alias_nfd_and_zero_width_names_resolve_to_one_entity(uni):
    registry = load_corpus(uni["data"], only=[STEM]).registry
    actors = {"person", "state", "government", "ministry", "agency", "military",
              "organization", "outlet"}
    for name in ("\uae40\uc815\uc740", "\uae40\u200d\uc815\uc740", "Kim\u200d Jong Un",
                 "Kim Jong\u200b Un", "\ufeffKim Jong Un"):
        assert registry.resolve(name, actors).key == "kim-jong-un", name
    for name in (NFC_JOSE, NFD_JOSE, "MR. MART\u00cd", "Mr. Marti\u0301"):
        assert registry.resolve(name, actors).key == "jose-marti", name
    assert registry.resolve("\u0627\u0644\u062c\u0632\u064a\u0631\u0629", actors).key \
        == "al-jazeera"
    assert registry.resolve("\u00e9lys\u00e9e", actors).key == "\u00e9lys\u00e9e"


def test_built_graph_has_one_node_per_entity(uni):
    store = uni["store"]
    kim = str(iris.entity("person", "kim-jong-un"))
    jose = str(iris.entity("person", "jose-marti"))
    participants = set()
    for row in store.raw.query("""
            PREFIX kg: <https://w3id.org/newskg/ontology#>
            SELECT DISTINCT ?actor WHERE { GRAPH ?g { ?p kg:participant ?actor } }"""):
        participants.add(row["actor"].value)
    assert kim in participants and jose in participants
    # no actor other than kim-jong-un carries a Kim Jong Un name in any normal form or spelling
    from kg.entities import name_key
    named_kim = set()
    for row in store.raw.query("""
            PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
            SELECT ?e ?n WHERE { GRAPH ?g { ?e rdfs:label|skos:altLabel ?n } }"""):
        if name_key(row["n"].value) in (name_key("Kim Jong Un"), name_key("\uae40\uc815\uc740")):
            named_kim.add(row["e"].value)
    assert named_kim == {kim}
    # the Unicode key gives a valid IRI that survives the N-Quads round trip
    elysee = str(iris.entity("government", "\u00e9lys\u00e9e"))
    assert elysee in (uni["out"] / "kg.nq").read_text(encoding="utf-8")


def test_query_layer_finds_names_in_any_script(uni):
    store = uni["store"]
    kim = str(iris.entity("person", "kim-jong-un"))
    for name in ("\uae40\uc815\uc740", "\uae40\u200d\uc815\uc740", "Kim Jong Un",
                 unicodedata.normalize("NFD", "\uae40\uc815\uc740")):
        assert resolve_name(store, name, "actor").value == kim, name
    for name in (NFC_JOSE, NFD_JOSE):
        assert resolve_name(store, name, "actor").value == str(iris.entity("person",
                                                                           "jose-marti"))
    assert resolve_name(store, "\u05d9\u05d3\u05d9\u05e2\u05d5\u05ea "
                               "\u05d0\u05d7\u05e8\u05d5\u05e0\u05d5\u05ea", "actor").value \
        == str(iris.entity("outlet", "yedioth"))
    # and a named query run with the Korean name returns that actor's statements
    result = run_named(store, "statements", {"speaker": "\uae40\uc815\uc740"})
    texts = {str(v) for row in result.rows for v in row.values() if v is not None}
    assert any("\U0001f600" in t for t in texts), texts
