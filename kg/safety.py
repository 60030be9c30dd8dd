"""Guards for queries a user types: read-only, and nothing leaves the store.

A query given to ``kg sparql`` or the endpoint may not ask the engine to reach outside the
store: ``SERVICE`` (an outbound request), ``FROM``/``FROM NAMED`` naming graphs the store does not
hold, and any update (``LOAD`` reads URLs and files; ``INSERT``/``DELETE``/``DROP`` write) are
refused with :class:`~kg.errors.UnsafeQuery` before the engine sees the text.
"""

from __future__ import annotations

from pyparsing import ParseException
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from .errors import QueryError, UnsafeQuery

__all__ = ["check_query", "MAX_QUERY_CHARS"]

#: Longer query texts are refused before parsing: parse time is what a hostile caller controls
#: (rdflib's parser took 28 s on a 90 kB text of 5,000 FILTERs).
MAX_QUERY_CHARS = 20_000


def _walk(node):
    if isinstance(node, CompValue):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _walk(value)
    elif hasattr(node, "asList") and not isinstance(node, str):
        for value in node:
            yield from _walk(value)


def check_query(text: str, *, graphs=None) -> None:
    """Refuse a query that is an update, uses SERVICE, or names datasets outside the store.

    Parameters
    ----------
    text : str
        The SPARQL text.
    graphs : container of str, optional
        Graph IRIs the store holds (anything supporting ``in``); ``FROM``/``FROM NAMED`` may
        only name these. When None, any ``FROM``/``FROM NAMED`` is refused.

    Raises
    ------
    UnsafeQuery
        For SERVICE, LOAD or any other update, and for FROM/FROM NAMED outside the store.
    QueryError
        For text that is not SPARQL.

    Examples
    --------
    >>> check_query("SELECT * WHERE { ?s ?p ?o }")
    >>> check_query("SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }")
    Traceback (most recent call last):
    ...
    kg.errors.UnsafeQuery: SERVICE is refused: queries may not reach outside the store
    """
    if not isinstance(text, str) or not text.strip():
        raise QueryError("empty query")
    if len(text) > MAX_QUERY_CHARS:
        raise UnsafeQuery(f"query is {len(text)} characters, over {MAX_QUERY_CHARS}")
    try:
        tree = parseQuery(text)
    except ParseException as exc:
        try:
            parseUpdate(text)
        except ParseException:
            raise QueryError(f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: "
                             f"{exc.msg}") from None
        raise UnsafeQuery("updates (INSERT, DELETE, LOAD, CLEAR, DROP, ...) are refused: the "
                          "query layer is read-only") from None
    except RecursionError:
        raise UnsafeQuery("query nested too deeply") from None
    for node in _walk(tree):
        if node.name == "ServiceGraphPattern":
            raise UnsafeQuery("SERVICE is refused: queries may not reach outside the store")
        if node.name in ("DatasetClause",):
            fields = dict(node)
            iri = fields.get("default", fields.get("named"))
            if graphs is None or str(iri) not in graphs:
                raise UnsafeQuery(f"FROM/FROM NAMED <{iri}> is refused: only graphs held in "
                                  f"the store may be named")
