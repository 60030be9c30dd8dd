"""SHACL validation of built quads against ``ontology/shapes.ttl``.

Validation runs per article, on the union of the registry entries it uses, the article's graph
and its claim graphs, so its cost grows with the article, not with the whole store.

Core constraints are checked by :mod:`kg.shacl`, compiled once from the shapes (no inference:
the loader writes superclasses out). pySHACL took 7 ms an article of ~80 triples; here the core
takes 0.16 ms and the SPARQL constraints 0.2. A shapes file using SHACL terms :mod:`kg.shacl`
does not check is given to pySHACL instead, whole, so a new shape is never silently skipped.
SPARQL-based constraints (``sh:sparql``) are evaluated in Oxigraph, once per constraint for all
focus nodes at once (and, where pyoxigraph allows, for a batch of articles at once, see
:func:`validate_bundles`): pySHACL runs each one per focus node through rdflib's SPARQL engine,
which measured ~90 ms per claim (12 s for a 67-claim article) against ~1 ms here. The
constraint's ``SELECT`` is joined with the shape's targets (``sh:targetClass``,
``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, ``sh:targetNode``) with ``$this`` as the join
variable; the shapes used here do not rely on pre-binding semantics beyond that. Variables named
``?kg_...`` are the validator's own: a constraint must not use them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph
from rdflib.namespace import SH

from . import shacl
from .errors import ValidationError

__all__ = ["validate_quads", "validate_bundles", "load_shapes", "SHAPES_PATH"]

SHAPES_PATH = Path(__file__).resolve().parent.parent / "ontology" / "shapes.ttl"
_TEMPLATE = re.compile(r"\{[?$](\w+)\}")


class _Shapes:
    """The shapes file split into its core (``core``, compiled as ``checks``, or ``None`` when
    pySHACL must check it) and the SPARQL constraints run in Oxigraph (``sparql``)."""

    def __init__(self, path: str):
        full = Graph().parse(path, format="turtle")
        self.core = Graph()
        for triple in full:
            if triple[1] != SH.sparql:
                self.core.add(triple)
        self.sparql = []
        for shape, constraint in full.subject_objects(SH.sparql):
            if (constraint, SH.deactivated, None) in full and \
                    str(full.value(constraint, SH.deactivated)).lower() == "true":
                continue
            select = str(full.value(constraint, SH.select))
            prefixes = "".join(
                f"PREFIX {full.value(d, SH.prefix)}: <{full.value(d, SH.namespace)}>\n"
                for p in full.objects(constraint, SH.prefixes)
                for d in full.objects(p, SH.declare))
            targets = []
            for cls in full.objects(shape, SH.targetClass):
                targets.append(f"?this a <{cls}> .")
            for prop in full.objects(shape, SH.targetSubjectsOf):
                targets.append(f"?this <{prop}> ?kg_any .")
            for prop in full.objects(shape, SH.targetObjectsOf):
                targets.append(f"?kg_any <{prop}> ?this .")
            for node in full.objects(shape, SH.targetNode):
                targets.append(f"VALUES ?this {{ <{node}> }}")
            if not targets:
                continue
            union = " UNION ".join(f"{{ {t} }}" for t in targets)
            body = select.replace("$this", "?this")
            query = f"{prefixes}SELECT DISTINCT * WHERE {{ {{ SELECT DISTINCT ?this WHERE {{ {union} }} }} {{ {body} }} }}"
            message = full.value(constraint, SH.message) or full.value(shape, SH.message) \
                or "SPARQL constraint violated"
            self.sparql.append((shape, query, str(message), _over_graphs(prefixes, union, body)))
        try:
            self.checks: shacl.CoreShapes | None = shacl.compile_shapes(self.core)
        except shacl.Unsupported:
            self.checks = None  # pySHACL checks the core constraints (validate_quads)


_PLAIN_SELECT = re.compile(r"\A\s*SELECT\s+((?:[?$]\w+\s+)*[?$]\w+)\s+WHERE\s*(\{.*\})\s*\Z",
                           re.S | re.I)


def _over_graphs(prefixes: str, union: str, body: str) -> str | None:
    """The constraint asked of every named graph at once, its graph as ``?kg_graph``: its
    ``SELECT``'s pattern joined with the targets inside ``GRAPH ?kg_graph``. Only for a plain
    ``SELECT ?vars WHERE { ... }`` with no subquery: pyoxigraph 0.5 loses the graph's variable
    around a subquery (oxigraph/oxigraph#1758); ``None`` then, and the constraint is asked of
    each graph in turn."""
    plain = _PLAIN_SELECT.match(body)
    if plain is None or re.search(r"\bSELECT\b", plain.group(2), re.I):
        return None
    names = list(dict.fromkeys(["?this"] + ["?" + v[1:] for v in plain.group(1).split()]))
    return (f"{prefixes}SELECT DISTINCT ?kg_graph {' '.join(names)} WHERE {{ "
            f"GRAPH ?kg_graph {{ {{ {union} }} {plain.group(2)} }} }}")


@lru_cache(maxsize=4)
def load_shapes(path: str = str(SHAPES_PATH)) -> _Shapes:
    return _Shapes(path)


def _oxigraph_violations(bundles: list, shapes: _Shapes) -> list[list[str]]:
    """The SPARQL constraints' violations of each bundle of quads, each bundle alone: its
    triples are one named graph of a scratch store, and a constraint is asked once of every
    graph (see :func:`_over_graphs`), or of each graph in turn as the default graph (parsing
    and planning the five constraints took 0.23 ms an article)."""
    from .store import to_ox

    store = ox.Store()
    names = [ox.NamedNode(f"urn:kg:validate:{i}") for i in range(len(bundles))]
    made: dict = {}  # predicates, classes and entities recur in every bundle

    def term(t):
        found = made.get(t)
        if found is None:
            found = made[t] = to_ox(t)
        return found

    store.extend(ox.Quad(term(s), term(p), term(o), name)
                 for name, quads in zip(names, bundles) for s, p, o, _g in quads)
    index = {name: i for i, name in enumerate(names)}
    found: list[list[str]] = [[] for _ in bundles]
    for _shape, query, message, over_graphs in shapes.sparql:
        if over_graphs is not None:
            rows = ((index[row["kg_graph"]], row) for row in store.query(over_graphs))
        else:
            rows = ((i, row) for i, name in enumerate(names)
                    for row in store.query(query, default_graph=name))
        for i, row in rows:
            def fill(match, _row=row):
                value = _row[match.group(1)]
                return value.value if value is not None else ""
            found[i].append(f"{row['this'].value}: {_TEMPLATE.sub(fill, message)}")
    return found


def _pyshacl_violations(quads, split: _Shapes) -> list[str]:
    import pyshacl

    data = Graph()
    for s, p, o, _g in quads:
        data.add((s, p, o))
    # No SHACL-AF feature is used (the SPARQL constraints run in Oxigraph, below), and the graph
    # is ours: advanced mode and inplace=False would only make pySHACL copy it first.
    conforms, report, _text = pyshacl.validate(data, shacl_graph=split.core, inference="none",
                                               advanced=False, inplace=True,
                                               allow_warnings=True)
    lines = []
    if not conforms:
        for result in report.subjects(SH.resultSeverity, SH.Violation):
            focus = report.value(result, SH.focusNode)
            path = report.value(result, SH.resultPath)
            message = report.value(result, SH.resultMessage)
            lines.append(f"{focus} {path or ''}: {message}")
    return lines


def validate_quads(quads, *, file=None, item=None, shapes: Path | str = SHAPES_PATH) -> None:
    """Check the union of ``quads`` against the shapes.

    Raises
    ------
    ValidationError
        The data does not conform; the message lists the first failures (focus node, path,
        message), naming ``file`` and ``item``.
    """
    validate_bundles([(quads, file, item)], shapes=shapes)


def validate_bundles(bundles, *, shapes: Path | str = SHAPES_PATH) -> None:
    """Check each ``(quads, file, item)`` of ``bundles``, the union of its quads alone, as
    :func:`validate_quads` does, the SPARQL constraints of all of them at once.

    Raises
    ------
    ValidationError
        For the first bundle, in the order given, that does not conform, naming its ``file``
        and ``item``.
    """
    bundles = [(list(quads), file, item) for quads, file, item in bundles]
    split = load_shapes(str(shapes))
    sparql = _oxigraph_violations([quads for quads, _f, _i in bundles], split)
    for (quads, file, item), lines in zip(bundles, sparql):
        if split.checks is not None:
            lines = lines + [str(r) for r in
                             split.checks.check((s, p, o) for s, p, o, _g in quads)]
        else:
            lines = lines + _pyshacl_violations(quads, split)
        if not lines:
            continue
        lines = sorted(set(lines))
        shown = "; ".join(lines[:5]) + (f"; and {len(lines) - 5} more" if len(lines) > 5 else "")
        raise ValidationError(f"graph does not satisfy the shapes: {shown}", file=file, item=item)
