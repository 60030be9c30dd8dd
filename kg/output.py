"""Query results as text: an aligned table, SPARQL 1.1 CSV, or SPARQL 1.1 Query Results JSON.

With evidence, every row is followed by (table) or expanded into (CSV, JSON) one line per claim
it cites: outlet, publication date, article, offsets and the verbatim quote.
"""

from __future__ import annotations

import csv
import io
import json

from rdflib import BNode, Literal, URIRef

from .vocab import NAMESPACES

__all__ = ["format_result", "FORMATS", "EVIDENCE_VARS", "short"]

FORMATS = ("table", "csv", "json")
EVIDENCE_VARS = ["evidence_outlet", "evidence_published", "evidence_article",
                 "evidence_start", "evidence_end", "evidence_quote"]
_SHORT = sorted(((ns, p) for p, ns in NAMESPACES.items()), key=lambda x: -len(x[0]))


def short(term) -> str:
    """A compact display form: prefixed IRIs, plain literal values, empty for unbound."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        for ns, prefix in _SHORT:
            if term.startswith(ns):
                return f"{prefix}:{term[len(ns):]}"
        return str(term)
    return str(term)


def _json_term(term):
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if isinstance(term, Literal):
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype is not None:
            out["datatype"] = str(term.datatype)
    return out


def _expanded(result, evidence):
    """Rows with evidence columns, one row per cited claim (rows citing none kept once)."""
    from .query import claims_of

    for row in result.rows:
        cited = [evidence[c] for c in claims_of(row) if c in evidence]
        if not cited:
            yield {**row, **{v: None for v in EVIDENCE_VARS}}
        for ev in cited:
            yield {**row, "evidence_outlet": Literal(ev["outlet"]),
                   "evidence_published": Literal(ev["published"]),
                   "evidence_article": URIRef(ev["article"]),
                   "evidence_start": Literal(ev["start"]), "evidence_end": Literal(ev["end"]),
                   "evidence_quote": Literal(ev["quote"])}


def format_result(result, fmt: str = "table", *, evidence: dict | None = None,
                  max_width: int = 60) -> str:
    """Render a :class:`kg.query.QueryResult` in ``fmt`` (table, csv or json)."""
    if result.boolean is not None:
        if fmt == "json":
            return json.dumps({"head": {}, "boolean": result.boolean}) + "\n"
        return ("true" if result.boolean else "false") + "\n"
    names = list(result.vars)
    if fmt == "json":
        rows = list(_expanded(result, evidence)) if evidence is not None else result.rows
        head = names + (EVIDENCE_VARS if evidence is not None else [])
        bindings = [{k: _json_term(v) for k, v in row.items() if v is not None} for row in rows]
        return json.dumps({"head": {"vars": head}, "results": {"bindings": bindings}},
                          ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        rows = list(_expanded(result, evidence)) if evidence is not None else result.rows
        head = names + (EVIDENCE_VARS if evidence is not None else [])
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(head)
        for row in rows:
            writer.writerow(["" if row.get(v) is None else str(row[v]) for v in head])
        return buf.getvalue()
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}")
    from .query import claims_of

    shown = [v for v in names if v not in ("claims", "claim")] if evidence is not None else names

    def cell(value, name=None):
        if name in ("claims", "claim") and value is not None:
            n = len(str(value).split())
            return f"{n} claim{'s' if n != 1 else ''} (--evidence)"
        text = " ".join(short(value).split())
        return text if len(text) <= max_width else text[:max_width - 1] + "…"

    table = [[cell(row.get(v), v) for v in shown] for row in result.rows]
    widths = [max([len(v)] + [len(r[i]) for r in table]) for i, v in enumerate(shown)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(shown, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row, cells in zip(result.rows, table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
        if evidence is not None:
            for claim in claims_of(row):
                ev = evidence.get(claim)
                if ev:
                    lines.append(f"    ↳ {ev['outlet']}, {ev['published']}, "
                                 f"{ev['article'].rsplit('/', 1)[-1]} [{ev['start']}:{ev['end']}]: "
                                 f"“{' '.join(ev['quote'].split())}”")
    lines.append(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''}"
                 f"{'; more follow (--limit, --offset)' if result.truncated else ''})")
    return "\n".join(lines) + "\n"
