"""The public API for notebooks and scripts: one import for building, querying and drawing.

Everything here is a stable name re-exported from the module that defines it, plus two
conveniences (:func:`to_frame`, :func:`article_text`) and :func:`open_store`. Notebooks import
from this module only, never from the stage modules, so those can be reorganised freely::

    from kg.api import build, open_store, run_named, to_frame

    report = build("data", "build")                     # data/ -> build/{kg.trig,kg.nq,store}
    store = open_store("build/store")                   # read-only
    to_frame(run_named(store, "noshows"))               # a named question, as a table

What each group does:

* building: :func:`build` (returns a ``BuildReport`` of counts), :func:`load_corpus`;
* the store: :class:`Store`, :func:`open_store`;
* questions: :func:`load_queries`, :func:`run_named`, :func:`run_sparql` (read-only SPARQL),
  :func:`to_frame`, :func:`format_result`; :func:`listings`, :func:`warm`, :func:`warm_names`
  and :func:`warm_store` (keep the first page of each listing, and the index of names, beside
  the store, as ``kg build`` does);
* provenance: :func:`claims_of` (the claims a result row cites), :func:`evidence` (their
  article, outlet, date, verbatim quote and character offsets), :func:`article_text`;
* networks: :func:`actor_network`, :func:`actor_meeting_network`, :func:`restrict`,
  :func:`centrality`, :func:`connecting_chains`, :func:`ego_network`, :func:`edges_between`;
* drawing: :func:`render_html` (one self-contained interactive page), :func:`write_html`;
* errors: :class:`KGError`, the root of every error raised on bad input.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import Literal, URIRef

from .articles import article_files, load_article
from .derive import open_current
from .errors import KGError
from .html import render_html, write_html
from .network import (actor_meeting_network, actor_network, centrality, connecting_chains,
                      edges_between, ego_network, restrict)
from .output import format_result, short
from .pipeline import DEFAULT_DATA, BuildReport, build, load_corpus
from .query import (QueryResult, claims_of, evidence, listings, load_queries, run_named,
                    run_sparql, warm, warm_names, warm_store)
from .store import Store

__all__ = [
    # building
    "build", "BuildReport", "load_corpus", "DEFAULT_DATA",
    # the store
    "Store", "open_store",
    # questions
    "load_queries", "run_named", "run_sparql", "QueryResult", "to_frame", "format_result",
    "listings", "warm", "warm_names", "warm_store",
    # provenance
    "claims_of", "evidence", "article_text",
    # networks
    "actor_network", "actor_meeting_network", "restrict", "centrality", "connecting_chains",
    "ego_network", "edges_between",
    # drawing
    "render_html", "write_html",
    # errors
    "KGError",
]


def open_store(path: Path | str = "build/store", *, read_only: bool = True) -> Store:
    """Open a store written by :func:`build` (``<out_dir>/store``), read-only by default.

    Several readers may share a store opened read-only, and reading never changes it.

    Raises
    ------
    StoreError
        Nothing is there (run :func:`build` or ``kg build`` first) or it is not a store.
    StoreBusy
        ``read_only=False`` and another process is writing to it.
    StaleStore
        An older kg counted its derived facts (``kg rederive`` recounts them).
    """
    return open_current(path, read_only=read_only)


def _value(term, short_iris: bool):
    """An rdflib term as a plain Python value for a table."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        return short(term) if short_iris else str(term)
    if isinstance(term, Literal):
        if term.datatype is None:
            return str(term)
        value = term.toPython()
        return str(term) if isinstance(value, Literal) else value
    return str(term)


def to_frame(result: QueryResult, columns=None, *, short_iris: bool = True,
             records: bool = False):
    """A query result as a table: a ``pandas.DataFrame``, or a list of dicts without pandas.

    Parameters
    ----------
    result : QueryResult
        What :func:`run_named` or :func:`run_sparql` returned.
    columns : list of str, optional
        Only these result variables, in this order (default: all, in the query's order).
    short_iris : bool
        Write IRIs with the project's prefixes (``id:actor/north-korea``); ``False`` keeps the
        full IRI strings (what :func:`evidence` and :func:`claims_of` expect come from the
        result itself, so either is fine for display).
    records : bool
        Return a list of dicts even when pandas is installed.

    Values are plain Python: text as ``str``, numbers as ``int``/``float``/``Decimal``, dates as
    ``datetime.date``, booleans as ``bool``, unbound as ``None``. An ASK result becomes one row
    with the column ``ask``.

    Examples
    --------
    >>> from rdflib import Literal, URIRef
    >>> r = QueryResult(vars=["who", "n"], rows=[
    ...     {"who": URIRef("https://w3id.org/newskg/id/actor/north-korea"), "n": Literal(2)}])
    >>> to_frame(r, records=True)
    [{'who': 'id:actor/north-korea', 'n': 2}]
    >>> to_frame(r, ["n"], records=True)
    [{'n': 2}]
    """
    if result.boolean is not None and not result.vars:
        names, rows = ["ask"], [{"ask": bool(result.boolean)}]
    else:
        names = list(result.vars if columns is None else columns)
        unknown = [n for n in names if n not in result.vars]
        if unknown:
            raise KeyError(f"no such column(s) {', '.join(unknown)}; "
                           f"the result has {', '.join(result.vars)}")
        rows = [{n: _value(row.get(n), short_iris) for n in names} for row in result.rows]
    if records:
        return rows
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows, columns=names)


def article_text(article: str, data_dir: Path | str = DEFAULT_DATA) -> str:
    """The text of an article exactly as the claims' offsets count it.

    Parameters
    ----------
    article : str
        The article's IRI (as :func:`evidence` gives it) or its stem
        (``000_8613253b72fdd089``).
    data_dir : path
        The data directory the graph was built from.

    The file is read the way the build reads it (bytes decoded as UTF-8, never altered) and its
    SHA-256 is checked against the article's metadata, so ``text[start:end]`` is the verbatim
    quote of any claim drawn from it.

    Raises
    ------
    ArticleError
        The article is missing, or its text differs from the one the claims were made from.
    """
    stem = str(article).rstrip("/").rsplit("/", 1)[-1]
    return load_article(article_files(data_dir, stem)[0]).text
