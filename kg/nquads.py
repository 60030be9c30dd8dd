"""The text of quads as the store keeps them: N-Quads for the store and ``kg.nq``, TriG for
``kg.trig``, written from rdflib-term quads without making a pyoxigraph quad of each.

A *text quad* is a tuple of four strings, the subject, predicate, object and graph in
N-Triples form as Oxigraph writes them (the graph ``""`` for the default graph). Each distinct
term still goes once through :func:`kg.store.term_converter`, so a literal reads as the store
keeps it and every IRI was checked by Oxigraph; the text of a term is then remembered by
identity, and an IRI's also by value. Per quad that leaves a few dictionary lookups: a build's
worker made pyoxigraph quads, dropped repeats among them, had Oxigraph serialize them and found
the facts' outlets on them in about 6 us a quad; on text, in about 3.8 (4,000 generated
articles; ``benchmarks/README.md``).

The N-Quads lines are those ``pyoxigraph.serialize`` writes for the same quads, byte for byte
(``tests/test_load_speed.py``); the TriG is written here, one block per graph, the triples of a
subject joined by ``;``, IRIs shortened by the project's prefixes where the local part is
plain.
"""

from __future__ import annotations

import os
import re

import pyoxigraph as ox
from rdflib import URIRef

from .store import Encoded, term_converter
from .vocab import NAMESPACES

__all__ = ["TextQuad", "text_quads", "text_of", "encode"]

TextQuad = tuple[str, str, str, str]

_TYPE = str(ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"))
# a local part written without escapes but for "/" (Oxigraph writes "id:actor\/kim"); anything
# else keeps its full IRI, which is always valid TriG
_LOCAL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-/]*")
_PREFIX_LINES = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in NAMESPACES.items())


class _Texts:
    """Remembers the text of terms (by identity; IRIs also by value), forgetting past
    ``limit`` entries, and the TriG form of IRIs and typed literals."""

    def __init__(self, limit: int = 100_000):
        self._by_id: dict = {}
        self._iris: dict = {}
        self._short: dict = {}
        self._limit = limit
        self._convert = term_converter(limit)

    def term(self, term) -> str:
        """The N-Triples text of an rdflib term (``None``: the default graph, ``""``)."""
        known = self._by_id.get(id(term))
        if known is not None and known[0] is term:
            return known[1]
        if type(term) is URIRef:
            text = self._iris.get(term)
            if text is None:
                if len(self._iris) >= self._limit:
                    self._iris.clear()
                text = self._iris[term] = str(self._convert(term))
        else:
            text = "" if term is None else str(self._convert(term))
        if len(self._by_id) >= self._limit:
            self._by_id.clear()
        self._by_id[id(term)] = (term, text)
        return text

    def quads(self, quads) -> list[TextQuad]:
        """Distinct text quads of rdflib-term quads, in their order; the quads of one graph must
        come together (:class:`ValueError` when a graph is seen again after another)."""
        # the terms met before (most of them) are found here, without a call each; a quad's
        # graph is most often the last one's term (96% of a build's quads), its subject too (77%)
        get, term = self._by_id.get, self.term
        out: list[TextQuad] = []
        seen: set = set()
        graph, done = None, set()
        last_s = last_g = _NOTHING
        for s, p, o, g in quads:
            if g is not last_g:
                k = get(id(g))
                g_text = k[1] if k is not None and k[0] is g else term(g)
                last_g = g
                if g_text is not graph and g_text != graph:
                    if graph is not None:
                        done.add(graph)
                    if g_text in done:
                        raise ValueError(f"the quads of graph {g_text} do not come together")
                    graph, seen = g_text, set()
            if s is not last_s:
                k = get(id(s))
                s_text = k[1] if k is not None and k[0] is s else term(s)
                last_s = s
            k = get(id(p))
            p = k[1] if k is not None and k[0] is p else term(p)
            k = get(id(o))
            o = k[1] if k is not None and k[0] is o else term(o)
            quad = (s_text, p, o, g_text)
            if quad not in seen:
                seen.add(quad)
                out.append(quad)
        return out

    def short(self, text: str) -> str:
        """The TriG form of a term's text: an IRI or a literal's datatype by a prefix where
        one fits."""
        found = self._short.get(text)
        if found is not None:
            return found
        if text[0] == "<":
            found = _prefixed(text)
        elif text.endswith(">") and '"^^<' in text:
            value, datatype = text.rsplit("^^", 1)
            found = f"{value}^^{_prefixed(datatype)}"
        else:
            return text  # a plain or tagged literal, a blank node: as it is, not remembered
        if len(self._short) >= self._limit:
            self._short.clear()
        self._short[text] = found
        return found


def _prefixed(iri: str) -> str:
    """``<iri>`` as ``prefix:local`` when a namespace of the project fits it."""
    value = iri[1:-1]
    for prefix, namespace in NAMESPACES.items():
        if value.startswith(namespace) and _LOCAL.fullmatch(value, len(namespace)):
            return f"{prefix}:{value[len(namespace):].replace('/', chr(92) + '/')}"
    return iri


_TEXTS: dict[int, _Texts] = {}
_NOTHING = object()  # no term yet: not even None, the default graph


def _process_texts() -> _Texts:
    """This process's memory of terms, which serves every batch it encodes (most terms of a
    batch were met in earlier ones). Keyed by process: a forked worker makes its own."""
    pid = os.getpid()
    if pid not in _TEXTS:
        _TEXTS.clear()
        _TEXTS[pid] = _Texts()
    return _TEXTS[pid]


def text_quads(quads) -> list[TextQuad]:
    """Rdflib-term quads as distinct text quads, terms as the store keeps them; the quads of one
    graph must come together, and repeats within a graph are dropped.

    Examples
    --------
    >>> from rdflib import Literal, URIRef
    >>> from rdflib.namespace import XSD
    >>> g, s, p = URIRef("https://x/g"), URIRef("https://x/s"), URIRef("https://x/p")
    >>> quads = text_quads([(s, p, Literal("07", datatype=XSD.integer), g),
    ...                     (s, p, Literal("07", datatype=XSD.integer), g)])
    >>> len(quads), quads[0][0], quads[0][3]
    (1, '<https://x/s>', '<https://x/g>')
    >>> quads[0][2]
    '"7"^^<http://www.w3.org/2001/XMLSchema#integer>'
    """
    return _process_texts().quads(quads)


def text_of(quads) -> list[TextQuad]:
    """Pyoxigraph quads (read from a store) as text quads."""
    return [(str(q.subject), str(q.predicate), str(q.object),
             "" if isinstance(q.graph_name, ox.DefaultGraph) else str(q.graph_name))
            for q in quads]


def encode(quads: list[TextQuad], *, prefixes: bool = False) -> Encoded:
    """:class:`kg.store.Encoded` of distinct text quads: N-Quads, and TriG with its ``@prefix``
    lines only when ``prefixes`` (a file declares them once, at its top).

    Examples
    --------
    >>> quads = [("<https://w3id.org/newskg/id/actor/kim>", _TYPE,
    ...           "<http://semanticweb.cs.vu.nl/2009/11/sem/Actor>", "<https://x/g>")]
    >>> part = encode(quads)
    >>> print(part.trig.decode(), end="")  # doctest: +NORMALIZE_WHITESPACE
    <https://x/g> {
        id:actor\\/kim a sem:Actor .
    }
    >>> set(ox.parse(part.nq, format=ox.RdfFormat.N_QUADS)) == set(ox.parse(
    ...     _PREFIX_LINES.encode() + part.trig, format=ox.RdfFormat.TRIG))
    True
    """
    nq = "".join([f"{s} {p} {o} {g} .\n" if g else f"{s} {p} {o} .\n" for s, p, o, g in quads])
    return Encoded(nq.encode(), _trig(quads, prefixes).encode(), len(quads))


def _trig(quads: list[TextQuad], prefixes: bool) -> str:
    short = _process_texts().short
    out = [_PREFIX_LINES] if prefixes else []
    graph = subject = predicate = None
    for s, p, o, g in quads:
        if g != graph:
            if subject is not None:
                out.append(" .\n}\n")
            out.append(f"{short(g)} {{\n" if g else "{\n")
            graph, subject = g, None
        if s != subject:
            if subject is not None:
                out.append(" .\n")
            out.append(f"\t{short(s)} {'a' if p == _TYPE else short(p)} {short(o)}")
            subject, predicate = s, p
        elif p != predicate:
            out.append(f" ;\n\t\t{'a' if p == _TYPE else short(p)} {short(o)}")
            predicate = p
        else:
            out.append(f" , {short(o)}")
    if subject is not None:
        out.append(" .\n}\n")
    return "".join(out)
