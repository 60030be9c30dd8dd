"""SHACL validation of built quads against ``ontology/shapes.ttl`` (pySHACL, no inference).

Validation runs per article, on the union of the entities graph, the article's graph and its
claim graphs, so its cost grows with the article, not with the whole store.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rdflib import Graph

from .errors import ValidationError

__all__ = ["validate_quads", "load_shapes", "SHAPES_PATH"]

SHAPES_PATH = Path(__file__).resolve().parent.parent / "ontology" / "shapes.ttl"


@lru_cache(maxsize=4)
def load_shapes(path: str = str(SHAPES_PATH)) -> Graph:
    return Graph().parse(path, format="turtle")


def validate_quads(quads, *, file=None, item=None, shapes: Path | str = SHAPES_PATH) -> None:
    """Check the union of ``quads`` against the shapes.

    Raises
    ------
    ValidationError
        The data does not conform; the message lists the first failures (focus node, path,
        message), naming ``file`` and ``item``.
    """
    import pyshacl

    data = Graph()
    for s, p, o, _g in quads:
        data.add((s, p, o))
    conforms, report, _text = pyshacl.validate(data, shacl_graph=load_shapes(str(shapes)),
                                               inference="none", advanced=True,
                                               allow_warnings=True)
    if conforms:
        return
    from rdflib.namespace import SH

    lines = []
    for result in report.subjects(SH.resultSeverity, SH.Violation):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        message = report.value(result, SH.resultMessage)
        lines.append(f"{focus} {path or ''}: {message}")
    lines.sort()
    shown = "; ".join(lines[:5]) + (f"; and {len(lines) - 5} more" if len(lines) > 5 else "")
    raise ValidationError(f"graph does not satisfy the shapes: {shown}", file=file, item=item)
