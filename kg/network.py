"""Network views: the claims in a store as networkx graphs of actors, for centrality and chains.

Two views are built from a :class:`~kg.store.Store` (the output of stage 4):

* :func:`actor_network`, a ``networkx.MultiDiGraph`` whose nodes are actors (people, states,
  organizations, outlets and the unnamed sources articles credit) and whose edges are typed links
  (:data:`RELATIONS`), one edge per relation and per meeting, pledge or statement it comes from;
* :func:`actor_meeting_network`, a bipartite ``networkx.Graph`` of actors and the meetings they
  attended, missed or were expected at.

Every edge keeps the claims that support it, so any link can be traced back to the sentences
that state it (:func:`kg.query.evidence`), and its ``weight`` is the number of *distinct* outlets
among those claims: two reports by the same outlet corroborate nothing. The data comes from the
named queries ``kg/queries/view_*.rq`` (also runnable as ``kg query view_...``), fetched once
per process and store; the views are then cut down in memory by :func:`restrict` (a time window,
a set of outlets), so asking many questions does not rescan the graph.

Edge attributes
---------------
``relation``
    One of :data:`RELATIONS` (``participation`` in the actor-meeting view).
``via``
    The meeting, pledge, statement or office the link comes from, or ``None`` for plain
    relations (part of, in contact with, requested).
``claims``, ``outlets``, ``weight``
    The supporting claims (sorted IRIs), their outlets (sorted labels), and how many distinct
    outlets there are.
``earliest``, ``latest``
    ISO dates or ``None``: the dates the kept claims give ``via`` (see :func:`restrict`).
``sides``
    The claims each end of a link needs, as a list of sorted lists. A ``met`` link needs an
    attendance claim for each participant, a ``missed`` link an absence and an attendance, a
    ``disputed`` link the disputing and the disputed claim; other links have one side. A filter
    that leaves any side empty removes the link.
``symmetric``
    ``True`` for ``met`` and ``in_contact_with``, which hold both ways: a ``met`` link is stored
    once per pair and meeting, from the actor whose IRI sorts first.

Statements an actor makes about itself, and any other self-link, are left out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import math
import weakref

import networkx as nx

from .entities import name_key
from .errors import AmbiguousEntity, QueryError, UnknownEntity
from .memory import paused_gc
from .query import named_query, resolve_name, run_named_text, side_by_side
from .store import Store, keep_beside, read_kept
from .vocab import KG

KG_NS = KG._NS

__all__ = ["RELATIONS", "MEASURES", "actor_network", "actor_meeting_network", "restrict",
           "centrality", "connecting_chains", "ego_network", "edges_between", "result_network"]

#: The link types of :func:`actor_network`, each read as "source <relation> target".
RELATIONS = ("met", "missed", "pledged_to", "criticized", "praised", "spoke_about", "spoke_for",
             "holds_office_in", "part_of", "in_contact_with", "requested", "disputed")

#: The measures :func:`centrality` knows.
MEASURES = ("degree", "betweenness", "closeness", "eigenvector", "pagerank")

_SYMMETRIC = frozenset({"met", "in_contact_with"})
# A dispute is dated by nothing in the graph: the disputed statement's date only bounds it from
# below, and plain relations carry no date at all.
_UNDATED = frozenset({"disputed", "part_of", "in_contact_with", "requested"})
_ABSENT = frozenset({"absent", "declined"})
# Each view query's columns, in the order its rows are sorted by here: an ORDER BY in the query
# made Oxigraph decode terms at every comparison, two to four times the query's own time at 10k
# articles. Rows kept in a file beside the store (_kept_rows) must have exactly these columns.
_QUERIES = {"view_actors": ("actor", "aliases", "kind", "label"),
            "view_claims": ("claim", "article", "outlet", "outletName", "published"),
            "view_dates": ("node", "claim", "earliest", "latest", "mode"),
            "view_meetings": ("meeting", "label", "places"),
            "view_participations": ("meeting", "actor", "claim", "status", "role"),
            "view_pledges": ("pledge", "source", "target", "claim"),
            "view_statements": ("statement", "source", "target", "relation", "claim"),
            "view_memberships": ("membership", "claim", "source", "target", "title"),
            "view_relations": ("relation", "source", "target", "claim"),
            "view_disputes": ("source", "target", "statement", "claim", "disputed", "kind")}
_CHAIN_CAP = 10_000


# --- fetching, once per store -------------------------------------------------------------------

class _Facts:
    """The rows of every ``view_*`` query as plain strings, and the indexes built from them.

    A store opened read-only keeps the rows in a file beside it (see :func:`_kept_rows`): at
    100k articles the queries took 22 s of every ``kg central``, ``kg path`` or ``kg ego``."""

    def __init__(self, store: Store):
        rows = _kept_rows(store)
        if rows is None:
            rows = dict(zip(_QUERIES, side_by_side(lambda item: _view_rows(store, *item),
                                                   _QUERIES.items())))
            keep_beside(store, _VIEWS_KIND, _views_format(), {"views": {
                name: [[r[c] for c in _QUERIES[name]] for r in found]
                for name, found in rows.items()}})
        self.rows = rows
        self.actors = {}
        for r in rows["view_actors"]:
            self.actors[r["actor"]] = {"label": r["label"] or _tail(r["actor"]),
                                       "kind": r["kind"], "aliases": _split(r["aliases"])}
        self.claims, self.outlets = {}, {}
        for r in rows["view_claims"]:
            label = r["outletName"] or _tail(r["outlet"])
            self.claims[r["claim"]] = {"article": r["article"], "outlet": label,
                                       "outlet_iri": r["outlet"], "published": r["published"]}
            known = self.actors.get(r["outlet"], {})
            self.outlets[r["outlet"]] = {"label": label,
                                         "names": sorted({label, _tail(r["outlet"]),
                                                          *known.get("aliases", ())})}
        self.dates, self.modes = {}, {}
        for r in rows["view_dates"]:
            self.dates.setdefault(r["node"], {})[r["claim"]] = (r["earliest"], r["latest"])
            self.modes[r["node"]] = r["mode"]
        self.meetings = {r["meeting"]: {"label": r["label"] or _tail(r["meeting"]),
                                        "place": _split(r["places"])}
                         for r in rows["view_meetings"]}

    def context(self) -> dict:
        """The graph-level data :func:`restrict` needs to recompute a link without the store."""
        return {"claims": dict(self.claims), "outlets": dict(self.outlets),
                "dates": {n: dict(c) for n, c in self.dates.items()}, "modes": dict(self.modes)}


_VIEWS_KIND = "views"


def _views_format() -> str:
    """What a file of kept rows must say it is: a digest of the view queries' texts, so that
    rows fetched by other queries (an older or newer version of kg) are not read."""
    texts = "\0".join(f"{name}\0{named_query(name).text}" for name in _QUERIES)
    return "views/1/" + hashlib.sha256(texts.encode()).hexdigest()[:16]


def _kept_rows(store: Store) -> dict | None:
    """The view rows kept beside ``store`` (:func:`kg.store.keep_beside`), if they were fetched
    from the store as it is now by these queries and are well formed; else ``None``."""
    data = read_kept(store, _VIEWS_KIND, _views_format())
    if data is None:
        return None
    try:
        views = data["views"]
        out = {}
        for name, columns in _QUERIES.items():
            values = views[name]
            if not (type(values) is list and all(
                    type(r) is list and len(r) == len(columns)
                    and all(v is None or type(v) is str for v in r) for r in values)):
                return None
            out[name] = [dict(zip(columns, r)) for r in values]
        return out
    except (TypeError, KeyError):
        return None


def _view_rows(store: Store, name: str, columns: tuple) -> list[dict]:
    """The rows of the view query ``name``, sorted by its ``columns`` (:data:`_QUERIES`), so that
    their order does not depend on the engine's.

    Raises
    ------
    QueryError
        The query returns other columns than ``columns``.
    """
    found = run_named_text(store, name)
    if found and set(found[0]) != set(columns):
        raise QueryError(f"returns the columns {', '.join(sorted(found[0]))}, expected "
                         f"{', '.join(sorted(columns))}", item=name)
    found.sort(key=lambda r: tuple(r[c] or "" for c in columns))
    return found


# Keyed weakly on the Store object, so a closed store's views go with it; its version is checked
# on every call, so a store that was written to since is read again.
_CACHE: "weakref.WeakKeyDictionary[Store, tuple[int, dict]]" = weakref.WeakKeyDictionary()


def _cached(store: Store, name: str, make):
    if not isinstance(store, Store):
        raise QueryError(f"expected a kg.store.Store, not {type(store).__name__}")
    version = store.version
    entry = _CACHE.get(store)
    if entry is None or entry[0] != version:
        entry = (version, {})
        _CACHE[store] = entry
    views = entry[1]
    if name not in views:
        views[name] = make(store)
    return views[name]


def _facts(store: Store) -> _Facts:
    return _cached(store, "facts", _Facts)


def _split(joined: str | None) -> list[str]:
    """A GROUP_CONCAT of names, as a sorted list (the concatenation order is arbitrary)."""
    return sorted(set(filter(None, (joined or "").split("|"))))


def _tail(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


# --- edges --------------------------------------------------------------------------------------

class _Links:
    """Links being collected: claims per side and per-claim details, merged by edge key."""

    def __init__(self):
        self.items: dict[tuple, dict] = {}

    def add(self, u, v, relation, via, sides, per_claim=None, **fixed):
        key = relation if via is None else f"{relation} {via}"
        item = self.items.setdefault((u, v, key), {
            "relation": relation, "via": via, "sides": [set() for _ in sides],
            "per_claim": {}, "fixed": {}})
        for bucket, claims in zip(item["sides"], sides):
            bucket.update(claims)
        for attr, by_claim in (per_claim or {}).items():
            target = item["per_claim"].setdefault(attr, {})
            for claim, values in by_claim.items():
                target.setdefault(claim, set()).update(values)
        item["fixed"].update(fixed)


def _span(via, relation, claims, ctx):
    """The dates the kept claims give ``via``: (earliest, latest) ISO strings or Nones."""
    if via is None or relation in _UNDATED:
        return None, None
    stated = [span for claim, span in ctx["dates"].get(via, {}).items() if claim in claims]
    if not stated:
        return None, None
    lows, highs = [s[0] for s in stated], [s[1] for s in stated]
    # Each claim bounds when a meeting, pledge or statement happened, so all of them together
    # bound it to the intersection; reports that disagree (empty intersection) are shown as
    # the whole range they span rather than picking one. A term of office is a union of the
    # days it is reported held.
    if ctx["modes"].get(via) == "term" or max(lows) > min(highs):
        return min(lows), max(highs)
    return max(lows), min(highs)


def _edge_attrs(relation, via, sides, per_claim, fixed, ctx) -> dict | None:
    """An edge's attributes from the claims left on each side; ``None`` if a side is empty."""
    known = ctx["claims"]
    sides = [sorted(c for c in side if c in known) for side in sides]
    if not sides or any(not side for side in sides):
        return None
    claims = sorted(set().union(*sides))
    outlets = sorted({known[c]["outlet"] for c in claims if known[c]["outlet"]})
    earliest, latest = _span(via, relation, known, ctx)
    attrs = {"relation": relation, "via": via, "claims": claims, "outlets": outlets,
             "weight": len(outlets), "earliest": earliest, "latest": latest, "sides": sides,
             "symmetric": relation in _SYMMETRIC}
    for attr, by_claim in per_claim.items():
        kept = {c: sorted(v) for c, v in by_claim.items() if c in known}
        attrs["claim_" + attr] = kept
        attrs[attr] = sorted(set().union(*kept.values())) if kept else []
    attrs.update(fixed)
    return attrs


def _collect_actor_links(facts: _Facts) -> _Links:
    links = _Links()
    actors = facts.actors
    rows = facts.rows

    # meeting -> actor -> status -> claims
    attendance: dict[str, dict[str, dict[str, set]]] = {}
    for r in rows["view_participations"]:
        if r["actor"] in actors:
            (attendance.setdefault(r["meeting"], {}).setdefault(r["actor"], {})
             .setdefault(r["status"], set()).add(r["claim"]))
    for meeting, who in attendance.items():
        went = {a: s["attended"] for a, s in who.items() if "attended" in s}
        for a, b in itertools.combinations(sorted(went), 2):
            links.add(a, b, "met", meeting, (went[a], went[b]))
        for a, statuses in who.items():
            missed = set().union(*(c for st, c in statuses.items() if st in _ABSENT))
            if missed:
                for b in went:
                    if b != a:
                        links.add(a, b, "missed", meeting, (missed, went[b]))

    for r in rows["view_pledges"]:
        links.add(r["source"], r["target"], "pledged_to", r["pledge"], ({r["claim"]},))
    for r in rows["view_statements"]:
        links.add(r["source"], r["target"], r["relation"], r["statement"], ({r["claim"]},))
    for r in rows["view_memberships"]:
        links.add(r["source"], r["target"], "holds_office_in", r["membership"], ({r["claim"]},),
                  per_claim={"title": {r["claim"]: {r["title"]} if r["title"] else set()}})
    for r in rows["view_relations"]:
        links.add(r["source"], r["target"], r["relation"], None, ({r["claim"]},))
    for r in rows["view_disputes"]:
        links.add(r["source"], r["target"], "disputed", r["statement"],
                  ({r["claim"]}, {r["disputed"]}), per_claim={"dispute": {r["claim"]: {r["kind"]}}})

    links.items = {k: v for k, v in links.items.items()
                   if k[0] != k[1] and k[0] in actors and k[1] in actors}
    return links


def _actor_attrs(facts: _Facts, iri: str) -> dict:
    info = facts.actors[iri]
    return {"label": info["label"], "kind": info["kind"], "aliases": list(info["aliases"])}


def _build_actor_network(store: Store) -> nx.MultiDiGraph:
    facts = _facts(store)
    ctx = facts.context()
    graph = nx.MultiDiGraph(view="actor_network", window=(None, None), outlet_filter=None,
                            **ctx)
    for (u, v, key), item in sorted(_collect_actor_links(facts).items.items()):
        attrs = _edge_attrs(item["relation"], item["via"], item["sides"], item["per_claim"],
                            item["fixed"], ctx)
        if attrs is None:
            continue
        for node in (u, v):
            if node not in graph:
                graph.add_node(node, **_actor_attrs(facts, node))
        graph.add_edge(u, v, key=key, **attrs)
    return graph


def _build_actor_meeting_network(store: Store) -> nx.Graph:
    facts = _facts(store)
    ctx = facts.context()
    graph = nx.Graph(view="actor_meeting_network", window=(None, None), outlet_filter=None,
                     **ctx)
    links = _Links()
    for r in facts.rows["view_participations"]:
        if r["actor"] in facts.actors:
            links.add(r["actor"], r["meeting"], "participation", r["meeting"], ({r["claim"]},),
                      per_claim={"attendance": {r["claim"]: {r["status"]}}})
    for (actor, meeting, _key), item in sorted(links.items.items()):
        attrs = _edge_attrs(item["relation"], item["via"], item["sides"], item["per_claim"],
                            item["fixed"], ctx)
        if attrs is None:
            continue
        if actor not in graph:
            graph.add_node(actor, bipartite=0, **_actor_attrs(facts, actor))
        if meeting not in graph:
            info = facts.meetings.get(meeting, {"label": _tail(meeting), "place": []})
            graph.add_node(meeting, bipartite=1, kind="meeting", label=info["label"],
                           place=list(info["place"]), earliest=attrs["earliest"],
                           latest=attrs["latest"])
        graph.add_edge(actor, meeting, **attrs)
    return graph


def _fresh(graph):
    """A copy whose attribute lists and dicts can be changed without touching the cache."""
    out = graph.copy()
    for _, attrs in out.nodes(data=True):
        attrs.update({k: v.copy() for k, v in attrs.items() if isinstance(v, (list, dict))})
    for *_, attrs in out.edges(data=True):
        attrs.update({k: v.copy() for k, v in attrs.items() if isinstance(v, (list, dict))})
    return out


def _view(store: Store, name: str, make, start, end, outlets):
    base = _cached(store, name, make)
    if outlets is not None:
        if isinstance(outlets, str):
            outlets = [outlets]
        # Names are resolved against the whole store (labels, aliases, keys), as everywhere
        # else; restrict() then matches the resulting IRIs.
        outlets = [resolve_name(store, str(o), "outlet", item="outlets").value for o in outlets]
    if start is None and end is None and outlets is None:
        return _fresh(base)
    return restrict(base, start=start, end=end, outlets=outlets)


@paused_gc()
def actor_network(store: Store, *, start=None, end=None, outlets=None) -> nx.MultiDiGraph:
    """Actors and the typed links between them that the claims state.

    Parameters
    ----------
    store : Store
        A built store (``build/store``).
    start, end : datetime.date or str, optional
        Keep links whose dates overlap this window (ISO ``YYYY-MM-DD``; either end may be
        open). Undated links are dropped as soon as a window is given.
    outlets : iterable of str, optional
        Keep only claims published by these outlets (names, aliases, keys or IRIs); weights
        and dates are recomputed and links left without claims are dropped.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes are actor IRIs with ``label``, ``kind`` (person, state, organization, outlet or
        source) and ``aliases``; edges are keyed ``"<relation> <via>"`` (or just the relation)
        and carry the attributes listed in the module docstring. Only actors with at least one
        link appear. ``graph.graph`` holds what :func:`restrict` needs without the store:
        ``claims`` (claim IRI -> article, outlet, outlet_iri, published), ``outlets``,
        ``dates`` and ``modes`` (the dates each claim gives a meeting, pledge, statement or
        office), and the ``window`` and ``outlet_filter`` applied. The graph is a fresh copy
        (its graph-level dictionaries are shared with the cache: read them, don't change
        them); the store is read once per process.

    Raises
    ------
    UnknownEntity, AmbiguousEntity
        An outlet name that is not exactly one outlet.
    QueryError
        A malformed date, or a window that ends before it starts.

    Examples
    --------
    >>> import tempfile
    >>> from kg.pipeline import DEFAULT_DATA, build
    >>> out = tempfile.mkdtemp()
    >>> _ = build(DEFAULT_DATA, out, validate=False)
    >>> g = actor_network(Store(f"{out}/store", read_only=True))
    >>> kim = "https://w3id.org/newskg/id/actor/kim-jong-un"
    >>> trump = "https://w3id.org/newskg/id/actor/donald-trump"
    >>> sorted({d["relation"] for _u, _v, d in g.out_edges(kim, data=True) if _v == trump})
    ['pledged_to']
    """
    return _view(store, "actor_network", _build_actor_network, start, end, outlets)


@paused_gc()
def actor_meeting_network(store: Store, *, start=None, end=None, outlets=None) -> nx.Graph:
    """The bipartite graph of actors and the meetings they attended, missed or were expected at.

    Parameters
    ----------
    store : Store
        A built store.
    start, end, outlets
        As for :func:`actor_network`; a link is dated by its meeting.

    Returns
    -------
    networkx.Graph
        Actor nodes have ``bipartite=0``, ``label``, ``kind``, ``aliases``; meeting nodes have
        ``bipartite=1``, ``kind="meeting"``, ``label``, ``earliest``, ``latest`` and ``place``
        (place labels). Each edge carries ``attendance`` (the statuses reported: attended,
        absent, declined, expected), ``claim_attendance`` (the same per claim), ``claims``,
        ``outlets``, ``weight`` and ``relation="participation"``.

    Raises
    ------
    UnknownEntity, AmbiguousEntity, QueryError
        As for :func:`actor_network`.
    """
    return _view(store, "actor_meeting_network", _build_actor_meeting_network, start, end,
                 outlets)


# --- filters ------------------------------------------------------------------------------------

def _day(value, name: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise QueryError(f"'{name}' must be a date YYYY-MM-DD, not {value!r}", item=name)


def _outlet_iris(graph, outlets) -> set[str]:
    if isinstance(outlets, str):
        outlets = [outlets]
    outlets = list(outlets)
    if not outlets:
        raise QueryError("no outlets given: pass None to keep every outlet", item="outlets")
    known = graph.graph.get("outlets", {})
    wanted = set()
    for name in outlets:
        name = str(name)
        if name.startswith(("http://", "https://")):
            # An outlet with no claims in this view is a valid, empty choice.
            wanted.add(name)
            continue
        key = name_key(name)
        found = sorted(iri for iri, info in known.items()
                       if key in {name_key(n) for n in info["names"]})
        if len(found) > 1:
            raise AmbiguousEntity(f"outlet '{name}' could be any of: "
                                  + ", ".join(f"{known[i]['label']} <{i}>" for i in found),
                                  candidates=found, item="outlets")
        if not found:
            raise UnknownEntity(f"no outlet is called '{name}'; candidates: "
                                + ", ".join(f"{info['label']} <{i}>"
                                            for i, info in sorted(known.items())),
                                candidates=sorted(known), item="outlets")
        wanted.add(found[0])
    return wanted


def _overlaps(attrs, lo, hi) -> bool:
    if attrs.get("earliest") is None or attrs.get("latest") is None:
        return False
    if hi is not None and dt.date.fromisoformat(attrs["earliest"]) > hi:
        return False
    return lo is None or dt.date.fromisoformat(attrs["latest"]) >= lo


@paused_gc()
def restrict(graph, *, start=None, end=None, outlets=None):
    """The same view keeping only the links in a time window and/or from some outlets.

    Parameters
    ----------
    graph : networkx.Graph or networkx.MultiDiGraph
        A view made by :func:`actor_network` or :func:`actor_meeting_network` (or restricted
        already).
    start, end : datetime.date or str, optional
        Keep links whose ``[earliest, latest]`` overlaps ``[start, end]``; an open end is
        unbounded. Undated links are dropped when either end is given.
    outlets : iterable of str, optional
        Outlet labels, aliases, keys or IRIs. Only these outlets' claims are kept; each link's
        ``claims``, ``outlets``, ``weight`` and dates are recomputed from what is left, and a
        link is dropped when any of its ``sides`` is left without a claim.

    Returns
    -------
    same type as ``graph``
        A new graph; actors (and meetings) left without links are dropped. ``graph.graph``
        records the ``window`` and ``outlet_filter`` applied.

    Raises
    ------
    QueryError
        A malformed date, a window ending before it starts, or an empty list of outlets.
    UnknownEntity, AmbiguousEntity
        An outlet name that matches no outlet or several in the view.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph(claims={"c1": {"outlet": "VOA"}, "c2": {"outlet": "CNN"}},
    ...                     outlets={"o/voa": {"label": "VOA", "names": ["VOA"]}},
    ...                     dates={"m": {"c1": ("2018-07-12", "2018-07-12")}},
    ...                     modes={"m": "bounds"})
    >>> g.add_edge("a", "b", key="met m", relation="met", via="m", sides=[["c1"], ["c2"]],
    ...            claims=["c1", "c2"], outlets=["CNN", "VOA"], weight=2,
    ...            earliest="2018-07-12", latest="2018-07-12")
    'met m'
    >>> restrict(g, start="2018-07-01", end="2018-07-31").number_of_edges()
    1
    >>> restrict(g, end="2018-06-30").number_of_edges()
    0
    >>> restrict(g, outlets=["VOA"]).number_of_edges()  # c2, the other side, is gone
    0
    """
    if "claims" not in graph.graph:
        raise QueryError("restrict() needs a view made by actor_network() or "
                         "actor_meeting_network(): this graph has no claim index")
    lo, hi = _day(start, "start"), _day(end, "end")
    if lo is not None and hi is not None and lo > hi:
        raise QueryError(f"the window ends ({hi}) before it starts ({lo})", item="end")
    meta = dict(graph.graph)
    meta.setdefault("dates", {})
    meta.setdefault("modes", {})
    if outlets is not None:
        wanted = _outlet_iris(graph, outlets)
        names = {graph.graph.get("outlets", {}).get(i, {}).get("label") for i in wanted}
        meta["claims"] = {c: info for c, info in meta["claims"].items()
                          if info.get("outlet_iri") in wanted or
                          ("outlet_iri" not in info and info.get("outlet") in names)}
        before = meta.get("outlet_filter")
        meta["outlet_filter"] = sorted(wanted if before is None else wanted & set(before))
    old_lo, old_hi = meta.get("window") or (None, None)
    meta["window"] = (max(filter(None, (lo and lo.isoformat(), old_lo)), default=None),
                      min(filter(None, (hi and hi.isoformat(), old_hi)), default=None))

    out = graph.__class__()
    out.graph.update(meta)
    multi = graph.is_multigraph()
    edges = graph.edges(keys=True, data=True) if multi else graph.edges(data=True)
    for edge in edges:
        u, v, data = edge[0], edge[1], edge[-1]
        per_claim = {k[len("claim_"):]: {c: set(vals) for c, vals in val.items()}
                     for k, val in data.items() if k.startswith("claim_") and isinstance(val, dict)}
        fixed = {k: val for k, val in data.items()
                 if k not in _DERIVED and not k.startswith("claim_") and k not in per_claim}
        attrs = _edge_attrs(data.get("relation"), data.get("via"),
                            data.get("sides") or [data.get("claims", [])], per_claim, fixed, meta)
        if attrs is None:
            continue
        if (lo is not None or hi is not None) and not _overlaps(attrs, lo, hi):
            continue
        for node in (u, v):
            if node not in out:
                out.add_node(node, **{k: (val.copy() if isinstance(val, (list, dict)) else val)
                                      for k, val in graph.nodes[node].items()})
        if multi:
            out.add_edge(u, v, key=edge[2], **attrs)
        else:
            out.add_edge(u, v, **attrs)
    for node, attrs in out.nodes(data=True):
        if attrs.get("bipartite") == 1:
            spans = [(d["earliest"], d["latest"]) for *_, d in out.edges(node, data=True)
                     if d.get("earliest")]
            attrs["earliest"] = spans[0][0] if spans else None
            attrs["latest"] = spans[0][1] if spans else None
    return out


_DERIVED = frozenset({"relation", "via", "claims", "outlets", "weight", "earliest", "latest",
                      "sides", "symmetric"})


# --- analysis -----------------------------------------------------------------------------------

def _collapse(graph) -> nx.Graph:
    """One undirected edge per linked pair, its ``weight`` the sum of the links' weights."""
    simple = nx.Graph()
    simple.add_nodes_from(graph.nodes)
    for u, v, data in graph.edges(data=True):
        if u == v:
            continue
        w = data.get("weight", 1)
        if simple.has_edge(u, v):
            simple[u][v]["weight"] += w
        else:
            simple.add_edge(u, v, weight=w)
    for _, _, data in simple.edges(data=True):
        # Paths run along the best-attested links: more outlets, shorter distance.
        data["distance"] = 1.0 / data["weight"] if data["weight"] > 0 else float("inf")
    return simple


def _pagerank(graph: nx.Graph, alpha=0.85, tol=1.0e-10, max_iter=1000) -> dict:
    # networkx's pagerank needs scipy, which the project does not depend on; this is the same
    # power iteration (weighted, dangling nodes spread evenly) in plain Python.
    nodes = list(graph)
    n = len(nodes)
    strength = {u: sum(d["weight"] for d in graph[u].values()) for u in nodes}
    rank = dict.fromkeys(nodes, 1.0 / n)
    for _ in range(max_iter):
        dangling = alpha * sum(rank[u] for u in nodes if strength[u] <= 0) / n
        new = dict.fromkeys(nodes, (1.0 - alpha) / n + dangling)
        for u in nodes:
            if strength[u] > 0:
                share = alpha * rank[u] / strength[u]
                for v, data in graph[u].items():
                    new[v] += share * data["weight"]
        error = sum(abs(new[u] - rank[u]) for u in nodes)
        rank = new
        if error < n * tol:
            return rank
    raise QueryError(f"pagerank did not converge in {max_iter} iterations", item="pagerank")


def _exact_lengths(simple: nx.Graph) -> str:
    """The edge attribute betweenness should measure paths by: ``distance`` (``1 / weight``),
    or, when every weight is a positive whole number (outlets counted), ``steps``, set here to
    the same lengths as whole numbers (the weights' least common multiple over each weight).

    Betweenness counts the shortest paths between each pair, so two paths of equal length
    must compare equal: as floats, 1/3 + 1/3 + 1/3 and 1 may not, and a shortest path is then
    missed (on random graphs, scores off by up to 0.016 against exact fractions)."""
    weights = {w for _u, _v, w in simple.edges(data="weight")}
    if not all(isinstance(w, int) and w > 0 for w in weights):
        return "distance"
    common = math.lcm(*weights) if weights else 1
    for _u, _v, data in simple.edges(data=True):
        data["steps"] = common // data["weight"]
    return "steps"


#: The measures made of every shortest path, as networkx defines them.
_BY_PATHS = {
    "betweenness": lambda simple: nx.betweenness_centrality(simple,
                                                            weight=_exact_lengths(simple)),
    "closeness": lambda simple: nx.closeness_centrality(simple, distance="distance"),
}


def _by_paths_in_igraph(simple: nx.Graph, measure: str) -> dict | None:
    """:data:`_BY_PATHS`'s ``measure`` of ``simple``, with networkx's definition and scaling
    (normalized betweenness; closeness over the reachable nodes, scaled by the share of nodes
    reached), computed by igraph if it is installed, else ``None``.

    Both measures take a shortest-path search from every node. networkx runs it in Python:
    at 100k articles (3,215 actors, 30,622 linked pairs) 113 s and 61 s; igraph runs the same
    searches in C, in 2.1 s and 1.6 s. igraph takes lengths within a relative epsilon of each
    other as equal, so its betweenness agrees with networkx's over whole-number lengths
    (:func:`_exact_lengths`; the tests compare both with exact fractions). igraph is optional
    (its license is the GPL): the ``fast`` extra. A distance that is not a positive finite
    number is left to networkx, which says what it makes of it.
    """
    try:
        import igraph
    except ImportError:
        return None
    nodes = list(simple)
    index = {node: i for i, node in enumerate(nodes)}
    edges, distances = [], []
    for u, v, distance in simple.edges(data="distance"):
        if not (isinstance(distance, (int, float)) and 0 < distance < math.inf):
            return None
        edges.append((index[u], index[v]))
        distances.append(float(distance))
    n = len(nodes)
    g = igraph.Graph(n=n, edges=edges, directed=False)
    if measure == "betweenness":
        # igraph counts each unordered pair once; networkx counts (s, t) and (t, s), then
        # divides by (n - 1)(n - 2)
        scale = 2 / ((n - 1) * (n - 2)) if n > 2 else 1.0
        return {node: b * scale for node, b in zip(nodes, g.betweenness(
            directed=False, weights=distances))}
    # igraph: (r - 1) / (the distances to the r - 1 others reached); networkx scales that by
    # (r - 1) / (n - 1) (Wasserman and Faust), and gives 0 to a node that reaches no other
    components = g.connected_components()
    sizes, reached = components.sizes(), components.membership
    closeness = g.closeness(weights=distances, normalized=True)
    return {node: (c * (sizes[reached[i]] - 1) / (n - 1)
                   if n > 1 and sizes[reached[i]] > 1 else 0.0)
            for i, (node, c) in enumerate(zip(nodes, closeness))}


@paused_gc()
def centrality(graph, measure: str = "degree") -> list[tuple[str, str, float]]:
    """Rank the nodes of a view by a centrality measure.

    Every measure is computed on a simple undirected graph collapsed from the view: one edge
    per linked pair, weighted by the sum of the links' weights (distinct outlets). ``degree``
    is the share of other nodes linked to (weights ignored); ``betweenness`` and ``closeness``
    use ``1 / weight`` as the length of a link, so well-attested links are short;
    ``eigenvector`` and ``pagerank`` use the weight. Because a link seen by several outlets is
    shorter than 1, a closeness score can exceed 1. Betweenness and closeness are networkx's
    definitions, computed by igraph when it is installed (:func:`_by_paths_in_igraph`), with
    whole-number lengths for betweenness (:func:`_exact_lengths`).

    Parameters
    ----------
    graph : networkx.Graph
        Any view (or any networkx graph whose edges have a numeric ``weight``).
    measure : str
        One of :data:`MEASURES`.

    Returns
    -------
    list of (str, str, float)
        ``(iri, label, score)`` for every node, highest score first, then by label.

    Raises
    ------
    QueryError
        An unknown measure (the allowed ones are named), or eigenvector/pagerank not
        converging.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph()
    >>> g.add_nodes_from([("a", {"label": "A"}), ("b", {"label": "B"}), ("c", {"label": "C"})])
    >>> _ = g.add_edge("a", "b", weight=2)
    >>> _ = g.add_edge("b", "c", weight=1)
    >>> [(iri, round(score, 2)) for iri, _, score in centrality(g, "degree")]
    [('b', 1.0), ('a', 0.5), ('c', 0.5)]
    >>> centrality(g, "fame")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kg.errors.QueryError: centrality: unknown measure 'fame'; use one of degree, betweenness, ...
    """
    if measure not in MEASURES:
        raise QueryError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}",
                         item="centrality")
    simple = _collapse(graph)
    if simple.number_of_nodes() == 0:
        return []
    if measure == "degree":
        scores = nx.degree_centrality(simple)
    elif measure in _BY_PATHS:
        scores = _by_paths_in_igraph(simple, measure)
        if scores is None:
            scores = _BY_PATHS[measure](simple)
    elif measure == "eigenvector":
        try:
            scores = nx.eigenvector_centrality(simple, weight="weight", max_iter=1000)
        except nx.PowerIterationFailedConvergence:
            raise QueryError("eigenvector centrality did not converge",
                             item="centrality") from None
    else:
        scores = _pagerank(simple)
    label = {n: str(graph.nodes[n].get("label", n)) for n in graph.nodes}
    ranked = [(str(n), label[n], float(s)) for n, s in scores.items()]
    # Rounded for the ordering only, so that float noise does not break ties differently.
    ranked.sort(key=lambda t: (-round(t[2], 12), t[1].casefold(), t[0]))
    return ranked


def _find_node(graph, name: str) -> str:
    """A node of ``graph`` by IRI, label, alias or key, the way the store resolves names."""
    if name in graph:
        return name
    if name.startswith(("http://", "https://")):
        raise UnknownEntity(f"no node {name} in this view", item=name)
    key = name_key(name)
    found, near = [], []
    for node, attrs in graph.nodes(data=True):
        names = {name_key(n) for n in (attrs.get("label", ""), *attrs.get("aliases", ()),
                                       _tail(str(node))) if n}
        if key in names:
            found.append(node)
        elif len(key) > 2 and any(key in n or n in key for n in names if len(n) > 2):
            near.append(node)

    def listing(nodes):
        return ", ".join(f"{graph.nodes[n].get('label', n)} <{n}>" for n in sorted(nodes))

    if len(found) == 1:
        return found[0]
    if found:
        raise AmbiguousEntity(f"'{name}' could be any of: {listing(found)}",
                              candidates=sorted(found), item=name)
    hint = f"; candidates: {listing(near[:8])}" if near else ""
    raise UnknownEntity(f"no actor in this view is called '{name}'{hint}",
                        candidates=sorted(near)[:8], item=name)


def edges_between(graph, a: str, b: str, relation: str | None = None) -> list[dict]:
    """The links between two nodes, in either direction, as ``{"source", "target", "key", ...}``.

    Parameters
    ----------
    graph : networkx.Graph
        A view.
    a, b : str
        Node IRIs (or names, looked up among the view's labels and aliases).
    relation : str, optional
        Only links of this relation.

    Returns
    -------
    list of dict
        The edge attributes plus ``source``, ``target`` and ``key``, sorted by relation,
        ``via`` and direction.

    Raises
    ------
    UnknownEntity, AmbiguousEntity
        A name that is not exactly one node of the view.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph()
    >>> _ = g.add_edge("a", "b", key="met m", relation="met", via="m")
    >>> [(e["source"], e["relation"]) for e in edges_between(g, "b", "a")]
    [('a', 'met')]
    """
    a, b = _find_node(graph, a), _find_node(graph, b)
    found = []
    for u, v in ((a, b), (b, a)) if graph.is_directed() and a != b else ((a, b),):
        data = graph.get_edge_data(u, v)
        if not data:
            continue
        items = data.items() if graph.is_multigraph() else [(None, data)]
        for key, attrs in items:
            if relation is None or attrs.get("relation") == relation:
                found.append({**attrs, "source": u, "target": v, "key": key})
    found.sort(key=lambda e: (str(e.get("relation")), str(e.get("via")), e["source"]))
    return found


def _link(graph, u, v, attrs) -> dict:
    return {"source": u, "source_label": graph.nodes[u].get("label", u),
            "target": v, "target_label": graph.nodes[v].get("label", v),
            "relation": attrs.get("relation"), "claims": list(attrs.get("claims", ())),
            "outlets": list(attrs.get("outlets", ())), "weight": attrs.get("weight", 0),
            "via": attrs.get("via"), "earliest": attrs.get("earliest"),
            "latest": attrs.get("latest")}


def _hop_links(graph, u, v) -> list[dict]:
    links = []
    pairs = ((u, v), (v, u)) if graph.is_directed() else ((u, v),)
    for s, t in pairs:
        data = graph.get_edge_data(s, t)
        if not data:
            continue
        for attrs in (data.values() if graph.is_multigraph() else [data]):
            links.append(_link(graph, s, t, attrs))
    links.sort(key=lambda link: (-link["weight"], str(link["relation"]), str(link["via"]),
                                 link["source"]))
    return links


@paused_gc()
def connecting_chains(store_or_graph, a: str, b: str, *, max_chains: int = 20) -> list[list[dict]]:
    """Every shortest chain of links between two actors.

    Direction is ignored when looking for a chain (a criticized b links them as much as b
    criticized a) but each link reports its own ``source`` and ``target``. Where two actors on
    a chain are linked in several ways, each way makes its own chain.

    Parameters
    ----------
    store_or_graph : Store or networkx.Graph
        A store (its :func:`actor_network` is used, and names are resolved with
        :func:`kg.query.resolve_name` as actors) or a view (names resolved among its nodes).
    a, b : str
        The two actors: names, aliases, keys or IRIs.
    max_chains : int
        At most this many chains are returned: the best attested first (highest total
        weight), then by the labels along the chain.

    Returns
    -------
    list of list of dict
        Each chain is a list of links ``{"source", "source_label", "target", "target_label",
        "relation", "claims", "outlets", "weight", "via", "earliest", "latest"}`` leading from
        ``a`` to ``b``. An empty list when nothing connects them.

    Raises
    ------
    UnknownEntity, AmbiguousEntity
        A name that is not exactly one actor; the candidates are listed.
    QueryError
        ``a`` and ``b`` are the same actor, or ``max_chains`` is not a positive integer.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph()
    >>> g.add_nodes_from([("a", {"label": "A"}), ("b", {"label": "B"}), ("c", {"label": "C"})])
    >>> _ = g.add_edge("a", "b", relation="met", claims=["c1"], weight=1)
    >>> _ = g.add_edge("c", "b", relation="praised", claims=["c2"], weight=1)
    >>> [[(l["source_label"], l["relation"], l["target_label"]) for l in chain]
    ...  for chain in connecting_chains(g, "A", "C")]
    [[('A', 'met', 'B'), ('C', 'praised', 'B')]]
    """
    if isinstance(max_chains, bool) or not isinstance(max_chains, int) or max_chains < 1:
        raise QueryError(f"max_chains must be a positive integer, not {max_chains!r}",
                         item="max_chains")
    if isinstance(store_or_graph, nx.Graph):
        graph = store_or_graph
        src, dst = _find_node(graph, a), _find_node(graph, b)
    else:
        store = store_or_graph
        src = resolve_name(store, a, "actor", item="a").value
        dst = resolve_name(store, b, "actor", item="b").value
        graph = _cached(store, "actor_network", _build_actor_network)
    if src == dst:
        raise QueryError(f"'{a}' and '{b}' are the same actor <{src}>: no chain to find",
                         item="b")
    if src not in graph or dst not in graph:
        return []
    simple = _collapse(graph)
    try:
        paths = list(itertools.islice(nx.all_shortest_paths(simple, src, dst), _CHAIN_CAP))
    except nx.NetworkXNoPath:
        return []
    ranked = []
    for path in paths:
        hops = [_hop_links(graph, u, v) for u, v in itertools.pairwise(path)]
        labels = [str(graph.nodes[n].get("label", n)).casefold() for n in path]
        # Every combination of the ways each hop is linked is a chain; capped, since a long
        # chain of multiply-linked actors multiplies out.
        for chain in itertools.islice(itertools.product(*hops), _CHAIN_CAP - len(ranked)):
            key = (-sum(link["weight"] for link in chain), labels,
                   [(str(link["relation"]), str(link["via"])) for link in chain])
            ranked.append((key, list(chain)))
        if len(ranked) >= _CHAIN_CAP:
            break
    ranked.sort(key=lambda item: item[0])
    return [chain for _, chain in ranked[:max_chains]]


@paused_gc()
def ego_network(graph, actor_iri: str, radius: int = 1):
    """The part of a view within ``radius`` links of an actor, whichever way the links point.

    Parameters
    ----------
    graph : networkx.Graph
        A view (:func:`actor_network`, :func:`actor_meeting_network` or a restriction).
    actor_iri : str
        The centre: an IRI, or a label, alias or key of a node of the view.
    radius : int
        How many links away to reach (0 gives the actor alone).

    Returns
    -------
    same type as ``graph``
        The subgraph induced by the nodes reached (every link among them), as a copy.

    Raises
    ------
    QueryError
        ``radius`` is not a whole number >= 0.
    UnknownEntity, AmbiguousEntity
        The actor is not (exactly) one node of the view.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph([("a", "b"), ("c", "b"), ("c", "d")])
    >>> sorted(ego_network(g, "b", radius=1))
    ['a', 'b', 'c']
    >>> sorted(ego_network(g, "b", radius=2))
    ['a', 'b', 'c', 'd']
    """
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < 0:
        raise QueryError(f"radius must be a whole number >= 0, not {radius!r}", item="radius")
    centre = _find_node(graph, actor_iri)
    undirected = graph.to_undirected(as_view=True) if graph.is_directed() else graph
    reached = nx.single_source_shortest_path_length(undirected, centre, cutoff=radius)
    return graph.subgraph(reached).copy()


# --- the answer of a named query, as a graph -----------------------------------------------------

_KIND_OF_TYPE = [  # most specific first
    ("http://xmlns.com/foaf/0.1/Person", "person"), (str(KG_NS) + "AnonymousSource", "source"),
    (str(KG_NS) + "State", "state"), ("https://schema.org/NewsMediaOrganization", "outlet"),
    (str(KG_NS) + "MilitaryBody", "military"), (str(KG_NS) + "GovernmentBody", "ministry"),
    ("https://schema.org/GovernmentOrganization", "government"),
    (str(KG_NS) + "Meeting", "meeting"),
    (str(KG_NS) + "Pledge", "pledge"), (str(KG_NS) + "PledgeStep", "pledge"),
    (str(KG_NS) + "Statement", "statement"), (str(KG_NS) + "Incident", "incident"),
    ("http://semanticweb.cs.vu.nl/2009/11/sem/Place", "place"), (str(KG_NS) + "Topic", "topic"),
    (str(KG_NS) + "Measure", "measure"), ("http://xmlns.com/foaf/0.1/Organization", "organization"),
]


@paused_gc()
def result_network(store: Store, result) -> nx.MultiDiGraph:
    """The answer of a query as a graph: the nodes each row names, linked in column order.

    Every IRI a row binds (other than its claims) becomes a node with its label and kind;
    consecutive IRIs of a row are linked by an edge named after the later column, carrying the
    row's claims, outlets and dates. This draws any question's answer without knowing its
    shape.

    Parameters
    ----------
    store : Store
        The store the answer came from (labels, kinds and each claim's outlet).
    result : kg.query.QueryResult
        The answer.
    """
    from rdflib import URIRef

    from .query import claims_of, describe, evidence

    skip = {"claim", "claims"}
    graph = nx.MultiDiGraph()
    cited = {c for row in result.rows for c in claims_of(row)}
    facts = evidence(store, cited)
    for row in result.rows:
        nodes = [(v, str(row[v])) for v in result.vars if v not in skip
                 and isinstance(row.get(v), URIRef)]
        claims = sorted(c for c in claims_of(row) if c in facts)
        outlets = sorted({facts[c]["outlet"] for c in claims})
        dates = [row.get(v) for v in ("earliest", "latest")]
        for _var, iri in nodes:
            if iri not in graph:
                label, types = describe(store, iri)
                kind = next((k for t, k in _KIND_OF_TYPE if t in types), "other")
                graph.add_node(iri, label=label or _tail(iri), kind=kind)
        for (_a, u), (var, v) in zip(nodes, nodes[1:]):
            if u == v:
                continue
            key = f"{var} {u} {v}"
            if graph.has_edge(u, v, key):
                data = graph.edges[u, v, key]
                data["claims"] = sorted(set(data["claims"]) | set(claims))
                data["outlets"] = sorted(set(data["outlets"]) | set(outlets))
                data["weight"] = len(data["outlets"])
                continue
            graph.add_edge(u, v, key=key, relation=var, claims=claims, outlets=outlets,
                           weight=len(outlets),
                           earliest=str(dates[0]) if dates[0] is not None else None,
                           latest=str(dates[1]) if dates[1] is not None else None)
    return graph
