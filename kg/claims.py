"""Stage 2: claims. Reads an article's claim file and checks every claim against its article.

A claim is one fact an article reports, with the verbatim words that report it. This stage takes
the articles (stage 1) and the entity registry, and returns :class:`ClaimSet` objects in which
every quote has been found in its article (offsets computed here, never typed by hand), every
name resolved to one entity, and every date resolved to a day or an interval. Nothing is written
until every claim of the set is valid. The claim format is documented in ``docs/claims.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .articles import Article
from .dates import Interval, resolve
from .entities import ACTOR_KINDS, KEY_PATTERN, MEETING_KINDS, Entity, Registry, name_key
from .errors import ClaimError, DateError, EntityError, QuoteNotFound, UnknownEntity
from .iris import normalize_text
from .yamlio import read_yaml

__all__ = ["Source", "Claim", "ClaimSet", "load_claim_file", "link_disputes", "KIND_FIELDS",
           "CONTEXT_CHARS"]

#: Characters of context kept before and after a quote (``oa:prefix`` / ``oa:suffix``).
CONTEXT_CHARS = 32

_ANY = None  # any entity kind
_E = {  # field type -> the entity kinds a name may resolve to
    "actor": ACTOR_KINDS, "actors": ACTOR_KINDS, "meeting": MEETING_KINDS,
    "place": frozenset({"place"}), "pledge": frozenset({"pledge"}),
    "agreement": frozenset({"agreement"}), "measure": frozenset({"measure"}),
    "incident": frozenset({"incident"}), "entities": _ANY,
}
_ENUMS = {
    "meeting_status": ("held", "planned", "proposed", "postponed", "failed", "cancelled"),
    "attendance": ("expected", "attended", "absent", "declined"),
    "outcome": ("agreement", "no_agreement"),
    "step": ("made", "reaffirmed", "partly_kept", "kept", "stalled", "suspended", "resumed",
             "broken"),
    "stance": ("critical", "supportive", "neutral"),
    "predicate": ("part_of", "in_contact_with", "requested"),
    "dispute": ("denies", "contradicts"),
    "tense": ("past", "future"),
}

#: For each kind of claim: field -> (type, required). Types name an entity kind group (see
#: ``_E``), an enumeration (``enum:<name>``), or ``text`` (words that must occur verbatim in the
#: quote), ``str``, ``number``, ``bool``, ``date``.
KIND_FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    "meeting": {"meeting": ("meeting", True), "status": ("enum:meeting_status", False),
                "place": ("place", False), "topic": ("entities", False),
                "outcome": ("enum:outcome", False), "proposed_by": ("actor", False)},
    "attendance": {"meeting": ("meeting", True), "actor": ("actor", True),
                   "status": ("enum:attendance", True), "role": ("str", False)},
    "office": {"holder": ("actor", True), "title": ("str", True), "org": ("actor", False)},
    "pledge": {"pledge": ("pledge", True), "by": ("actors", True), "to": ("actors", False),
               "content": ("text", False), "meeting": ("meeting", False),
               "document": ("agreement", False), "topic": ("entities", False)},
    "pledge_step": {"pledge": ("pledge", True), "step": ("enum:step", True),
                    "actor": ("actor", False), "description": ("text", False)},
    "statement": {"speaker": ("actor", True), "text": ("text", True),
                  "about": ("entities", False), "stance": ("enum:stance", False),
                  "on_behalf_of": ("actor", False)},
    "figure": {"measure": ("measure", True), "value": ("number", True), "unit": ("str", False),
               "given_by": ("actor", False), "approximate": ("bool", False)},
    "incident": {"incident": ("incident", True), "actor": ("actors", False),
                 "place": ("place", False), "description": ("text", False)},
    "relation": {"subject": ("actor", True), "predicate": ("enum:predicate", True),
                 "object": ("actor", True)},
    "dispute": {"target": ("str", True), "relation": ("enum:dispute", True),
                "by": ("actor", False)},
}
_DATED = {"meeting", "attendance", "office", "pledge", "pledge_step", "statement", "figure",
          "incident"}
_DATE_FIELDS = {"date": ("str", False), "tense": ("enum:tense", False), "anchor": ("str", False)}
_CLAIM_FIELDS = {"id", "quote", "occurrence", "according_to"}
# Single-valued fields that may also be given as a list (several statuses at once).
_LISTABLE = {("attendance", "status")}


@dataclass(frozen=True)
class Source:
    """An unnamed source as one article reports it: "a U.S. official", "military officials"."""

    stem: str
    key: str
    label: str
    kind: str  # person | group
    affiliation: Entity | None = None


@dataclass
class Claim:
    """One validated claim. ``fact`` maps field names to resolved values.

    ``start`` and ``end`` are offsets into the article's decoded text, counted in Unicode
    code points (Python ``str`` indices: an emoji is one, a combining accent is one of its own),
    so that ``article.text[start:end] == quote``; they become ``oa:start``/``oa:end``.
    """

    stem: str
    id: str
    kind: str
    quote: str
    start: int
    end: int
    prefix: str
    suffix: str
    content: dict
    fact: dict
    according_to: tuple = ()
    date: Interval | None = None
    file: str = ""
    line: int | None = None


@dataclass
class ClaimSet:
    """The claims of one article, in file order."""

    stem: str
    file: str
    sources: dict[str, Source] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)

    def by_id(self, claim_id: str) -> Claim | None:
        return next((c for c in self.claims if c.id == claim_id), None)


def _locate(article: Article, quote: str, occurrence: int, fail) -> int:
    start = -1
    for _ in range(occurrence):
        start = article.text.find(quote, start + 1)
        if start == -1:
            break
    if start != -1:
        return start
    hint = ""
    if occurrence > 1 and quote in article.text:
        hint = f" (it occurs only {article.text.count(quote)} time(s))"
    elif normalize_text(quote) in normalize_text(article.text):
        hint = " (the words are there but differ in quotes, dashes, spaces or case: copy them exactly)"
    raise fail(QuoteNotFound, f"quote is not a verbatim part of the article{hint}: "
                              f"{quote[:70]!r}")


def _resolver(registry: Registry, sources: dict[str, Source], fail):
    local = {}
    for src in sources.values():
        for name in (src.key, src.label):
            local.setdefault(name_key(name), src)

    def resolve_name(name, kinds, field_name):
        if kinds is not _ANY and ACTOR_KINDS <= kinds and isinstance(name, str):
            src = local.get(name_key(name))
            if src is not None:
                return src
        try:
            return registry.resolve(name, kinds)
        except UnknownEntity as exc:
            raise fail(type(exc), f"{field_name}: {exc.message}") from None
        except ClaimError:
            raise
        except Exception as exc:  # AmbiguousEntity and friends keep their class
            raise fail(type(exc), f"{field_name}: {getattr(exc, 'message', exc)}") from None
    return resolve_name


def _check_value(kind, fname, ftype, value, quote, resolve_name, fail):
    if ftype in _E:
        many = ftype in ("actors", "entities")
        values = value if isinstance(value, list) else [value]
        if not many and isinstance(value, list):
            raise fail(ClaimError, f"{kind}.{fname} takes one name, not a list")
        if not values:
            raise fail(ClaimError, f"{kind}.{fname} is empty")
        out = tuple(resolve_name(v, _E[ftype], f"{kind}.{fname}") for v in values)
        return out if many else out[0]
    if ftype.startswith("enum:"):
        allowed = _ENUMS[ftype[5:]]
        values = value if isinstance(value, list) and (kind, fname) in _LISTABLE else [value]
        for v in values:
            if v not in allowed:
                raise fail(ClaimError, f"{kind}.{fname} must be one of {', '.join(allowed)}, "
                                       f"not {v!r}")
        return tuple(values) if (kind, fname) in _LISTABLE else values[0]
    if ftype == "text":
        if not isinstance(value, str) or not value.strip():
            raise fail(ClaimError, f"{kind}.{fname} must be text")
        if value not in quote:
            raise fail(QuoteNotFound, f"{kind}.{fname} is not a verbatim part of the quote: "
                                      f"{value[:70]!r}")
        return value
    if ftype == "str":
        if not isinstance(value, str) or not value.strip():
            raise fail(ClaimError, f"{kind}.{fname} must be non-empty text")
        return value.strip()
    if ftype == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise fail(ClaimError, f"{kind}.{fname} must be a number, not {value!r}")
        return value
    if ftype == "bool":
        if not isinstance(value, bool):
            raise fail(ClaimError, f"{kind}.{fname} must be true or false")
        return value
    raise AssertionError(ftype)


def _date(body, kind, article, fail) -> Interval | None:
    if "date" not in body:
        for extra in ("tense", "anchor"):
            if extra in body:
                raise fail(ClaimError, f"{kind}.{extra} given without a date")
        return None
    tense = body.get("tense", "past")
    text = body["date"]
    if isinstance(text, (dt.date, int)):
        text = str(text)  # YAML reads 2018-07-12 and 1990 as a date and an int
    if not isinstance(text, str):
        raise fail(DateError, f"{kind}.date must be a date expression, not {text!r}")
    try:
        anchor = None
        if "anchor" in body:
            anchor = resolve(str(body["anchor"]), article.published)
        interval = resolve(text, article.published, tense=tense, anchor=anchor)
    except DateError as exc:
        raise fail(DateError, f"{kind}.date: {exc.message}") from None
    if tense == "past" and interval.start > article.published:
        raise fail(DateError, f"{kind}.date {text!r} resolves to {interval.start}, after the "
                              f"article's publication ({article.published}); add 'tense: future' "
                              f"if it was expected")
    if tense == "future" and interval.end < article.published:
        raise fail(DateError, f"{kind}.date {text!r} resolves to {interval.end}, before "
                              f"publication, but tense is future")
    return interval


def _sources(doc, stem, registry, path) -> dict[str, Source]:
    raw = doc.get("sources") or {}
    if not isinstance(raw, dict):
        raise ClaimError("'sources' must be a mapping of key to source", file=path,
                         item="sources")
    out = {}
    for key, body in raw.items():
        item = f"sources.{key}"
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            raise ClaimError("a source key must be one word of letters, digits and '-', '_', '.', "
                             "'~' (it becomes part of an IRI)", file=path, item=item)
        if not isinstance(body, dict) or not isinstance(body.get("label"), str) \
                or not body["label"].strip():
            raise ClaimError("a source needs a label", file=path, item=item)
        kind = body.get("kind", "person")
        if kind not in ("person", "group"):
            raise ClaimError("a source's kind is person or group", file=path, item=item)
        extra = set(body) - {"label", "kind", "affiliation"}
        if extra:
            raise ClaimError(f"unknown field(s): {', '.join(sorted(extra))}", file=path,
                             item=item)
        aff = None
        if body.get("affiliation") is not None:
            try:
                aff = registry.resolve(body["affiliation"], ACTOR_KINDS)
            except EntityError as exc:  # unknown or ambiguous: keep the class, add the place
                raise type(exc)(f"affiliation: {exc.message}", file=path, item=item) from None
        out[str(key)] = Source(stem, str(key), body["label"], kind, aff)
    return out


def load_claim_file(path: Path | str, article: Article, registry: Registry) -> ClaimSet:
    """Read and validate the claims of one article.

    Parameters
    ----------
    path : path
        The claim file (``data/claims/<stem>.yaml``).
    article : Article
        The article it belongs to (stage 1 output).
    registry : Registry
        Entities that names resolve to.

    Returns
    -------
    ClaimSet
        Valid claims; dispute targets are still names (see :func:`link_disputes`).

    Raises
    ------
    ClaimError
        Naming the file, the claim id (and line) and the problem: malformed YAML, an unknown
        field, a quote not in the article or inside page furniture (:class:`QuoteNotFound`),
        an unknown or ambiguous name (:class:`UnknownEntity`), a bad date (:class:`DateError`).
    """
    path = Path(path)
    doc = read_yaml(path, ClaimError)
    if not isinstance(doc, dict):
        raise ClaimError("a claim file must be a mapping with 'article' and 'claims'", file=path)
    extra = set(doc) - {"article", "sources", "claims"}
    if extra:
        raise ClaimError(f"unknown top-level field(s): {', '.join(sorted(map(str, extra)))}",
                         file=path)
    if doc.get("article") != article.stem:
        raise ClaimError(f"'article' must be {article.stem!r} (the file it annotates), not "
                         f"{doc.get('article')!r}", file=path, item="article")
    sources = _sources(doc, article.stem, registry, path)
    raw_claims = doc.get("claims") or []
    if not isinstance(raw_claims, list):
        raise ClaimError("'claims' must be a list", file=path, item="claims")
    out = ClaimSet(article.stem, str(path), sources)
    seen = set()
    for index, raw in enumerate(raw_claims, 1):
        line = getattr(raw, "line", None)
        cid = raw.get("id") if isinstance(raw, dict) else None
        item = str(cid) if isinstance(cid, str) and cid else f"claim #{index}"

        def fail(cls, message, _item=item, _line=line):
            return cls(message, file=path, item=_item, line=_line)

        if not isinstance(raw, dict):
            raise fail(ClaimError, "a claim must be a mapping")
        if not isinstance(cid, str) or not cid.strip() or "#" in cid:
            raise fail(ClaimError, "a claim needs an 'id' (text without '#')")
        if cid in seen:
            raise fail(ClaimError, "claim id used twice in this file")
        seen.add(cid)
        kinds = [k for k in raw if k in KIND_FIELDS]
        unknown = set(raw) - _CLAIM_FIELDS - set(KIND_FIELDS)
        if unknown:
            raise fail(ClaimError, f"unknown field(s): {', '.join(sorted(map(str, unknown)))}; "
                                   f"a claim has id, quote, occurrence, according_to and one of "
                                   f"{', '.join(KIND_FIELDS)}")
        if len(kinds) != 1:
            raise fail(ClaimError, f"a claim states exactly one fact ({', '.join(KIND_FIELDS)}); "
                                   f"found {len(kinds)}")
        kind = kinds[0]
        quote = raw.get("quote")
        if not isinstance(quote, str) or not quote.strip():
            raise fail(ClaimError, "a claim needs a non-empty 'quote' from its article")
        occurrence = raw.get("occurrence", 1)
        if isinstance(occurrence, bool) or not isinstance(occurrence, int) or occurrence < 1:
            raise fail(ClaimError, "occurrence must be a whole number from 1")
        start = _locate(article, quote, occurrence, fail)
        end = start + len(quote)
        for f_start, f_end in article.furniture:
            if start < f_end and f_start < end:
                raise fail(QuoteNotFound, "quote cites page furniture, which is not part of the "
                                          "report")
        resolve_name = _resolver(registry, sources, fail)
        body = raw[kind]
        if not isinstance(body, dict):
            raise fail(ClaimError, f"'{kind}' must be a mapping of its fields")
        spec = dict(KIND_FIELDS[kind])
        if kind in _DATED:
            spec.update(_DATE_FIELDS)
        unknown = set(body) - set(spec)
        if unknown:
            raise fail(ClaimError, f"{kind} has unknown field(s) "
                                   f"{', '.join(sorted(map(str, unknown)))}; it takes "
                                   f"{', '.join(spec)}")
        fact = {}
        for fname, (ftype, required) in spec.items():
            if fname in _DATE_FIELDS:
                continue
            if fname not in body or body[fname] is None:
                if required:
                    raise fail(ClaimError, f"{kind} needs '{fname}'")
                continue
            fact[fname] = _check_value(kind, fname, ftype, body[fname], quote, resolve_name,
                                       fail)
        date = _date(body, kind, article, fail) if kind in _DATED else None
        according = raw.get("according_to") or []
        if not isinstance(according, list):
            according = [according]
        according_to = tuple(resolve_name(n, ACTOR_KINDS, "according_to") for n in according)
        out.claims.append(Claim(
            stem=article.stem, id=cid, kind=kind, quote=quote, start=start, end=end,
            prefix=article.text[max(0, start - CONTEXT_CHARS):start],
            suffix=article.text[end:end + CONTEXT_CHARS],
            content=_plain(raw), fact=fact, according_to=according_to, date=date,
            file=str(path), line=line))
    return out


def _plain(value):
    """A JSON-ready copy of the raw YAML (dates as ISO text), used to derive the claim IRI."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def link_disputes(claim_sets: dict[str, ClaimSet], load_other=None) -> None:
    """Resolve each dispute's ``target`` to the claim it names.

    ``target`` is a claim id in the same file or ``<stem>#<id>`` in another article's file;
    ``load_other(stem)`` is called for a stem not in ``claim_sets`` (an incremental load).

    Raises
    ------
    ClaimError
        The target names no claim, or a claim disputes itself.
    """
    for cset in list(claim_sets.values()):
        for claim in cset.claims:
            if claim.kind != "dispute":
                continue
            target = claim.fact["target"]
            stem, _, cid = target.rpartition("#")
            stem = stem or cset.stem
            other = claim_sets.get(stem)
            if other is None and load_other is not None:
                other = load_other(stem)
            found = other.by_id(cid) if other is not None else None
            if found is None:
                raise ClaimError(f"dispute target {target!r} names no claim", file=claim.file,
                                 item=claim.id, line=claim.line)
            if found is claim:
                raise ClaimError("a claim cannot dispute itself", file=claim.file,
                                 item=claim.id, line=claim.line)
            claim.fact["target_claim"] = found
