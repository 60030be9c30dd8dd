"""Sample parameters of the named queries, shared by the tests that run every one of them, and
what their answers leave in no set order (the parts of a GROUP_CONCAT), and the form in which
answers of two engines are compared."""

import ast
import re
from collections import Counter
from decimal import Decimal, InvalidOperation

from rdflib import BNode, Literal, URIRef

XSD = "http://www.w3.org/2001/XMLSchema#"

#: Parameters for every named query: each query is run remotely with all of them, and (when some
#: are optional) with only the required ones. A query missing here, or a declared parameter
#: without a sample, fails test_named_query_matches_local: add a sample for new queries.
SAMPLES: dict[str, dict[str, str]] = {
    "actors": {"name": "korea"},
    "corroboration": {"subject": "dmz-remains-talks", "min_outlets": "2"},
    "disputes": {"by": "Pompeo"},
    "figures": {"measure": "us-unaccounted-korean-war"},
    "meetings": {"actor": "North Korea", "status": "absent"},
    "met": {"actor": "Pompeo"},
    "noshows": {"meeting": "dmz-remains-talks"},
    "offices": {"holder": "Pompeo"},
    "pledge_status": {"date": "2018-08-01", "pledge": "singapore-repatriation-pledge"},
    "pledges": {"actor": "North Korea", "pledge": "dmz-meeting-arrangement"},
    "statements": {"speaker": "Pompeo", "about": "North Korea"},
    "timeline": {"actor": "Pompeo", "topic": "remains-repatriation"},
    "view_actors": {}, "view_claims": {}, "view_dates": {}, "view_disputes": {},
    "view_meetings": {}, "view_memberships": {}, "view_participations": {}, "view_pledges": {},
    "view_relations": {}, "view_statements": {},
}


def modes(query) -> list[str]:
    """Every choice of optional parameters ('#+ if' blocks) of a named query: "all",
    "required", or the optional ones given, joined by '+'."""
    optional = [p.name for p in query.params if p.optional]
    found = ["all"]
    for mask in range(2 ** len(optional) - 2, -1, -1):
        given = [n for i, n in enumerate(optional) if mask >> i & 1]
        found.append("+".join(given) if given else "required")
    return found


def mode_params(query, mode: str) -> dict[str, str]:
    """The sample parameters of ``query`` for one of its :func:`modes`."""
    params = dict(SAMPLES[query.name])
    if mode != "all":
        keep = {p.name for p in query.params if not p.optional} | set(mode.split("+"))
        params = {k: v for k, v in params.items() if k in keep}
    return params


_GROUP_CONCAT = re.compile(
    r"GROUP_CONCAT\s*\(\s*(?:DISTINCT\s+)?(?:[^;()]|\((?:[^()]|\([^()]*\))*\))*?"
    r"(?:;\s*SEPARATOR\s*=\s*(?P<sep>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'))?"
    r"\s*\)\s*AS\s+[?$](?P<var>\w+)", re.I)


def concat_fields(text: str) -> dict[str, str]:
    """The variables a query binds with GROUP_CONCAT, with their separators."""
    return {m.group("var"): ast.literal_eval(m.group("sep")) if m.group("sep") else " "
            for m in _GROUP_CONCAT.finditer(text)}


_NUMERIC = {XSD + t for t in (
    "integer", "decimal", "double", "float", "int", "long", "short", "byte",
    "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
    "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}


def norm(term, separator: str | None = None):
    """A term in a form both engines agree on.

    String literal and xsd:string are one; numbers compare by value (``"07"`` = ``"7"``), and so
    do booleans with 1/0 (Virtuoso answers ``EXISTS`` as ``1``); a GROUP_CONCAT field
    (``separator`` given) is the sorted list of its parts, and an empty one equals unbound
    (Oxigraph leaves an aggregate of nothing unbound, Virtuoso answers ``""``).
    """
    if separator is not None:
        if term is None or str(term) == "":
            return ("concat", ())
        return ("concat", tuple(sorted(str(term).split(separator))))
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ("iri", str(term))
    if isinstance(term, BNode):
        return ("bnode",)
    if isinstance(term, Literal):
        if term.language:
            return ("lang", str(term), term.language.lower())
        dtype = str(term.datatype) if term.datatype is not None else None
        if dtype in (None, XSD + "string"):
            return ("str", str(term))
        if dtype == XSD + "boolean":
            return ("num", Decimal(1 if str(term).strip().lower() in ("true", "1") else 0))
        if dtype in _NUMERIC:
            try:
                return ("num", Decimal(str(term).strip()))
            except InvalidOperation:
                pass
        return ("typed", str(term), dtype)
    return ("other", str(term))


def as_multiset(result, fields: dict[str, str]) -> Counter:
    return Counter(tuple(norm(row.get(v), fields.get(v)) for v in result.vars)
                   for row in result.rows)
