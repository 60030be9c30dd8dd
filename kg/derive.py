"""Derived facts: what several claims say together, kept in the store so that asking is a lookup.

A *fact* is one triple that a claim graph asserts, other than the claim's own provenance: not a
triple about the claim itself or its parts (``<claim>/...``, the quote's selectors), and not an
``rdf:type``. The same fact reported by several articles sits in several claim graphs (the IRIs
of meetings, participations and statements are shared, see :mod:`kg.iris`), and how many
distinct outlets report it is its corroboration. Counting that per request visits every report:
194 s for every fact of 100k articles. So each fact gets a node in :data:`FACTS_GRAPH`::

    <fact> rdf:subject s ; rdf:predicate p ; rdf:object o ; kg:outletCount n ;
           prov:wasAttributedTo outlet1, outlet2 ...

Its IRI is a digest of the triple (:func:`kg.iris.fact`), so loading the same claims again
writes the same node. The nodes are made by a build from what its workers found
(:func:`reports`, :func:`encoded_facts`), and recounted by ``kg add`` and ``kg remove`` for
the facts of the article's old and new claim graphs only (:func:`refresh`), in the same atomic
update as the article. :func:`rebuild` recounts everything (a store filled by hand).

The same graph holds one summary per actor, ``<actor> kg:claimCount n``: how many claims
mention it (claim graphs holding a triple whose object is the actor), which listing every actor
with its count would otherwise recount over every claim. A build counts them from its workers'
:func:`mentions`; ``kg add`` and ``kg remove`` adjust the stored count by the claim graphs they
take away and bring (:func:`refresh`): the work follows the article, not how often the actor is
mentioned elsewhere.

The graph also says which rules made it, ``<graph/facts> kg:factsVersion n``
(:data:`FACTS_VERSION`). A store whose claims were counted by older rules (an older kg, before
the actors' claim counts) would answer with missing or wrong summaries, so reading it or
adding to it stops with :class:`~kg.errors.StaleStore` (:func:`check_current`) until
``kg rederive`` recounts it (:func:`rebuild`).

Facts are keyed by their three terms in N-Triples form, as the store keeps them: strings cross
process boundaries ten times faster than pyoxigraph terms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

import pyoxigraph as ox
from rdflib.namespace import RDF, XSD

from . import iris
from .errors import StaleStore
from .nquads import TextQuad, text_quads
from .store import Encoded, Store
from .vocab import KG, PROV, SDO, SEM

__all__ = ["FACTS_GRAPH", "FACTS_VERSION", "Key", "reports", "mentions", "merge", "fact_quads",
           "encoded_facts", "refresh",
           "replace_article", "replace_articles", "remove_article", "remove_articles",
           "rebuild", "version_quad", "stored_version", "version_error",
           "check_current", "open_current"]

FACTS_GRAPH = iris.FACTS_GRAPH
Key = tuple[str, str, str]
#: The rules the facts graph was made by: 1, the facts' outlets (no marker was written then);
#: 2, also each actor's claim count. Raise it whenever what a build derives changes, so that
#: stores made before are recounted rather than read as if current.
FACTS_VERSION = 2

_FACTS = ox.NamedNode(str(FACTS_GRAPH))
_DERIVED_FROM = ox.NamedNode(str(PROV.wasDerivedFrom))
_PUBLISHER = ox.NamedNode(str(SDO.publisher))
_TYPE = ox.NamedNode(str(RDF.type))
_SUBJECT = ox.NamedNode(str(RDF.subject))
_PREDICATE = ox.NamedNode(str(RDF.predicate))
_OBJECT = ox.NamedNode(str(RDF.object))
_OUTLETS = ox.NamedNode(str(KG.outletCount))
_ATTRIBUTED = ox.NamedNode(str(PROV.wasAttributedTo))
_INTEGER = ox.NamedNode(str(XSD.integer))
_ACTOR = ox.NamedNode(str(SEM.Actor))
_CLAIM_COUNT = ox.NamedNode(str(KG.claimCount))
_VERSION = ox.NamedNode(str(KG.factsVersion))
_CLAIM = ox.NamedNode(str(KG.Claim))
_TYPE_TEXT, _DERIVED_FROM_TEXT, _ACTOR_TEXT = str(_TYPE), str(_DERIVED_FROM), str(_ACTOR)
# the lines of a fact's node but its outlets, for (node, s, node, p, node, o, node, count)
_FACT_LINES = (f"%s {_SUBJECT} %s", f"%s {_PREDICATE} %s", f"%s {_OBJECT} %s",
               f'%s {_OUTLETS} "%d"^^{_INTEGER}')
_FACT_NQ = "".join(f"{line} {_FACTS} .\n" for line in _FACT_LINES)
_FACT_TRIG = "".join(f"\t{line} .\n" for line in _FACT_LINES)
_PUBLISHER_TEXT = str(_PUBLISHER)


def _is_fact(quad: ox.Quad, claim: ox.NamedNode) -> bool:
    return _is_fact_text(str(quad.subject), str(quad.predicate), str(claim))


def _is_fact_text(s: str, p: str, claim: str, parts: str | None = None) -> bool:
    """Whether ``s p`` in the claim graph ``claim`` starts a fact: not the claim itself or one
    of its parts, not a type. ``parts``, the prefix of its parts' IRIs (:func:`_parts_of`),
    when the caller made it once for many quads."""
    return s != claim and p != _TYPE_TEXT and not s.startswith(parts or _parts_of(claim))


def _parts_of(claim: str) -> str:
    # the claim's parts are <claim/...>: the claim's text without its closing ">", then "/"
    return claim[:-1] + "/"


def _key(quad: ox.Quad) -> Key:
    return str(quad.subject), str(quad.predicate), str(quad.object)


def reports(quads: Iterable[TextQuad]) -> dict[Key, set[str]]:
    """The outlets reporting each fact of ``quads``.

    ``quads`` are text quads as the store keeps them (see :func:`kg.nquads.text_quads`)
    holding whole claim graphs and the graphs of their articles, as one article's bundle or a
    build's batch does. A claim graph is one that says it ``prov:wasDerivedFrom`` an article;
    the article's outlet is its ``schema:publisher``.

    Examples
    --------
    >>> c, a = "<https://x/claim/1>", "<https://x/article/1>"
    >>> found = reports([(c, _DERIVED_FROM_TEXT, a, c),
    ...                  (a, _PUBLISHER_TEXT, "<https://x/o>", a),
    ...                  ("<https://x/m>", "<https://x/p>", '"v"', c)])
    >>> found
    {('<https://x/m>', '<https://x/p>', '"v"'): {'<https://x/o>'}}
    """
    quads = quads if isinstance(quads, list) else list(quads)
    derived, publisher = _DERIVED_FROM_TEXT, _PUBLISHER_TEXT
    article_of: dict = {}
    outlets: dict = {}
    for s, p, o, g in quads:
        if p == publisher:
            outlets.setdefault(s, set()).add(o)
        elif p == derived and s == g:
            article_of[g] = o
    found: dict[Key, set[str]] = {}
    graph = reporting = parts = None
    for s, p, o, g in quads:
        if g is not graph and g != graph:  # looked up again only when the graph changes
            graph, reporting, parts = g, outlets.get(article_of.get(g)), _parts_of(g)
        if reporting is not None and _is_fact_text(s, p, g, parts):
            key = (s, p, o)
            known = found.get(key)
            if known is None:
                found[key] = set(reporting)
            else:
                known |= reporting
    return found


def _mentioned(quads: Iterable[TextQuad]) -> tuple[dict[str, set[str]], set[str]]:
    """Claim graph -> the IRIs that are the object of one of its triples; and the IRIs that
    ``quads`` type ``sem:Actor``; all in N-Triples form.

    ``quads`` are text quads (:func:`kg.nquads.text_quads`): strings are compared and hashed
    in C, where rdflib terms compare in Python (a build's 5.4M article quads: 6.8 CPU s on
    rdflib terms).
    """
    objects_of: dict = {}
    claims, typed = set(), set()
    actor, typ, derived = _ACTOR_TEXT, _TYPE_TEXT, _DERIVED_FROM_TEXT
    for s, p, o, g in quads:
        if o[0] == "<":  # an IRI, not a literal or a blank node
            objects = objects_of.get(g)
            if objects is None:
                objects = objects_of[g] = set()
            objects.add(o)
            if o == actor:
                if p == typ:
                    typed.add(s)
            elif s == g and p == derived:
                claims.add(g)
    return {g: objects_of[g] for g in claims}, typed


def mentions(quads: Iterable[TextQuad], actors: Iterable[str] = ()) -> dict[str, int]:
    """How many claim graphs of ``quads`` mention each actor: hold a triple whose object it is.

    ``quads`` are text quads holding whole claim graphs, such as a build's batch
    (:func:`kg.nquads.text_quads`). An actor is an IRI typed ``sem:Actor`` in ``quads`` or
    listed in ``actors`` (N-Triples form, such as the registry's actors, which an article's
    claims use but do not type). Keys are in N-Triples form, like :func:`reports`'.

    Examples
    --------
    >>> c, a, kim = "<https://x/claim/1>", "<https://x/article/1>", "<https://x/kim>"
    >>> mentions([(c, _DERIVED_FROM_TEXT, a, c), ("<https://x/m>", "<https://x/p>", kim, c),
    ...           (c, "<https://x/q>", kim, c), (c, "<https://x/r>", '"kim"', c)],
    ...          actors={"<https://x/kim>"})
    {'<https://x/kim>': 1}
    """
    by_claim, typed = _mentioned(quads)
    counts: Counter = Counter()
    for objects in by_claim.values():
        counts.update(n for n in objects if n in actors or n in typed)
    return dict(counts)


def merge(into: dict[Key, set[str]], found: dict[Key, set[str]]) -> None:
    """Add ``found`` (from :func:`reports`) to ``into``."""
    for key, outlets in found.items():
        known = into.get(key)
        if known is None:
            into[key] = set(outlets)
        else:
            known |= outlets


def _terms(key: Key) -> tuple:
    triple = next(iter(ox.parse(f"{key[0]} {key[1]} {key[2]} .".encode(),
                                format=ox.RdfFormat.N_TRIPLES)))
    return triple.subject, triple.predicate, triple.object


def fact_quads(key: Key, outlets: set[str], terms: tuple | None = None) -> list[ox.Quad]:
    """The quads of one fact's node, reported by ``outlets`` (IRIs in N-Triples form): its
    triple, its outlet count and one ``prov:wasAttributedTo`` per outlet, so that a question
    finds a fact's outlets without visiting each of its reports.

    Examples
    --------
    >>> key = ("<https://x/a>", "<https://x/p>", '"b"')
    >>> quads = fact_quads(key, {"<https://x/o1>", "<https://x/o2>"})
    >>> [str(q.predicate).rsplit("#")[-1] for q in quads]
    ['subject>', 'predicate>', 'object>', 'outletCount>', 'wasAttributedTo>', 'wasAttributedTo>']
    >>> quads[3].object.value, quads[4].object.value
    ('2', 'https://x/o1')
    """
    s, p, o = terms or _terms(key)
    node = ox.NamedNode(str(iris.fact(*key)))
    return [ox.Quad(node, _SUBJECT, s, _FACTS), ox.Quad(node, _PREDICATE, p, _FACTS),
            ox.Quad(node, _OBJECT, o, _FACTS),
            ox.Quad(node, _OUTLETS, ox.Literal(str(len(outlets)), datatype=_INTEGER), _FACTS)] + \
        [ox.Quad(node, _ATTRIBUTED, ox.NamedNode(outlet[1:-1]), _FACTS)
         for outlet in sorted(outlets)]


def count_quad(actor, n: int) -> ox.Quad:
    """The quad saying that ``n`` claims mention ``actor`` (a pyoxigraph term)."""
    return ox.Quad(actor, _CLAIM_COUNT, ox.Literal(str(n), datatype=_INTEGER), _FACTS)


def encoded_facts(found: dict[Key, set[str]], counts: dict[str, int] | None = None, *,
                  chunk: int = 10_000) -> Iterator[Encoded]:
    """The fact nodes of ``found`` (every fact of a corpus), serialized in parts of ``chunk``
    facts, in the order of their keys so that a build writes the same files every time; then
    the actors' claim counts ``counts`` (from :func:`mentions`, summed), in the order of the
    actors. A part of 10k facts is about 55k quads: small enough for the loader to cut its loads
    to the size it is asked for (:meth:`kg.store.Store.load_encoded`).

    The keys are terms in N-Triples form as the store keeps them, so the lines are written
    here, not made into pyoxigraph quads and serialized: at 10k articles that took 1.7 s of the
    build's own process, at its end, when nothing else runs. The TriG part is one graph block of
    the same triples (N-Triples terms are valid TriG).

    Examples
    --------
    >>> key = ("<https://x/a>", "<https://x/p>", '"b"')
    >>> part = next(encoded_facts({key: {"<https://x/o>"}}))
    >>> quads = list(ox.parse(part.nq, format=ox.RdfFormat.N_QUADS))
    >>> set(quads) == set(fact_quads(key, {"<https://x/o>"}))
    True
    >>> set(ox.parse(part.trig, format=ox.RdfFormat.TRIG)) == set(quads), part.quads
    (True, 5)
    >>> [q.object.value for q in ox.parse(next(encoded_facts({}, {"<https://x/kim>": 3})).nq,
    ...                                     format=ox.RdfFormat.N_QUADS)]
    ['3']
    """
    keys = sorted(found)
    fact = iris.fact
    for i in range(0, len(keys), chunk):
        nq, trig, quads = [], [], 0
        for key in keys[i:i + chunk]:
            # a fact's four fixed lines in one step each, N-Quads and TriG side by side: the
            # facts are made at the build's end, while both cores are busy (100k articles:
            # 370k facts; 55k facts took 0.61 s as triples joined twice, 0.36 like this)
            outlets = sorted(found[key])
            node = f"<{fact(*key)}>"
            fixed = (node, key[0], node, key[1], node, key[2], node, len(outlets))
            nq.append(_FACT_NQ % fixed)
            trig.append(_FACT_TRIG % fixed)
            for outlet in outlets:
                nq.append(f"{node} {_ATTRIBUTED} {outlet} {_FACTS} .\n")
                trig.append(f"\t{node} {_ATTRIBUTED} {outlet} .\n")
            quads += 4 + len(outlets)
        yield Encoded("".join(nq).encode(), f"{_FACTS} {{\n{''.join(trig)}}}\n".encode(), quads)
    actors = sorted(counts or ())
    for i in range(0, len(actors), chunk):
        yield _encoded_triples([f'{actor} {_CLAIM_COUNT} "{counts[actor]}"^^{_INTEGER}'
                                for actor in actors[i:i + chunk]])
    yield _encoded_triples([f'{_FACTS} {_VERSION} "{FACTS_VERSION}"^^{_INTEGER}'])


def version_quad() -> ox.Quad:
    """The quad saying that the facts graph was made by the rules of :data:`FACTS_VERSION`."""
    return ox.Quad(_FACTS, _VERSION, ox.Literal(str(FACTS_VERSION), datatype=_INTEGER), _FACTS)


def stored_version(store: Store) -> int | None:
    """The :data:`FACTS_VERSION` the store's facts graph was made by: ``None`` when the store
    holds no claim (nothing to count), 1 when it holds claims but no marker (written before
    there was one)."""
    raw = store.raw
    for q in raw.quads_for_pattern(_FACTS, _VERSION, None, _FACTS):
        try:
            return int(q.object.value)
        except ValueError:
            return 0  # not a number kg wrote: older than any version it knows
    if next(iter(raw.quads_for_pattern(None, _TYPE, _CLAIM, None)), None) is None:
        return None
    return 1


def version_error(found: int | None, *, fix: str, file=None) -> StaleStore | None:
    """The error for facts counted by the rules of version ``found`` (see
    :func:`stored_version`; ``None``: nothing counted), or ``None`` when they are current;
    ``fix`` says how to count them again."""
    if found is None or found == FACTS_VERSION:
        return None
    if found < FACTS_VERSION:
        return StaleStore(f"the store's derived facts were counted by an older kg (version "
                          f"{found}; this kg needs {FACTS_VERSION}): {fix}", file=file)
    return StaleStore(f"the store's derived facts were counted by a newer kg (version {found}; "
                      f"this kg knows {FACTS_VERSION}): upgrade kg to read it", file=file)


def check_current(store: Store) -> None:
    """Refuse a store whose facts graph was made by other rules than this kg's.

    Asking such a store would give summaries that are missing or wrong (an actor's claim count
    read as 0), and adding to it would mix the old counts with new ones. One lookup. A store
    filled by hand (``Store.add``) is current once :func:`rebuild` has counted it.

    Raises
    ------
    StaleStore
        The store holds claims counted by the rules of an older kg (or by none), or of a newer
        one; naming the store and what to do.

    Examples
    --------
    >>> store = Store()
    >>> check_current(store)  # empty: nothing to count
    >>> claim = ox.NamedNode("https://x/claim")
    >>> store.raw.add(ox.Quad(claim, _TYPE, _CLAIM, claim))
    >>> check_current(store)
    Traceback (most recent call last):
    ...
    kg.errors.StaleStore: the store's derived facts were counted by an older kg (version 1; this kg needs 2): run `kg rederive` to recount them
    >>> store.raw.add(version_quad())
    >>> check_current(store)
    """
    error = version_error(stored_version(store), fix="run `kg rederive` to recount them",
                          file=store.path)
    if error is not None:
        raise error


def open_current(path, *, read_only: bool = True) -> Store:
    """The on-disk store at ``path`` (read-only by default), refused unless its facts graph is
    current (:func:`check_current`); a refused store is closed before the error is raised.

    Raises
    ------
    StaleStore
        As :func:`check_current`.
    StoreError
        Nothing is there, or it cannot be opened (:class:`kg.store.Store`).
    """
    store = Store(path, read_only=read_only)
    try:
        check_current(store)
    except StaleStore:
        store.close()
        raise
    return store


def _encoded_triples(triples: list[str]) -> Encoded:
    """Triples (N-Triples terms, no final dot) in :data:`FACTS_GRAPH`, as N-Quads and TriG."""
    nq = "".join([f"{t} {_FACTS} .\n" for t in triples]).encode()
    trig = f"{_FACTS} {{\n" + "".join([f"\t{t} .\n" for t in triples]) + "}\n"
    return Encoded(nq, trig.encode(), len(triples))


def _claim_article(raw: ox.Store, graph) -> ox.NamedNode | None:
    if not isinstance(graph, ox.NamedNode):
        return None
    for q in raw.quads_for_pattern(graph, _DERIVED_FROM, None, graph):
        return q.object
    return None


def _publishers(raw: ox.Store, article) -> set[str]:
    return {str(q.object) for q in raw.quads_for_pattern(article, _PUBLISHER, None, None)}


def _outlets_in_store(raw: ox.Store, terms: tuple, skip: set) -> set[str]:
    out: set[str] = set()
    for q in raw.quads_for_pattern(*terms, None):
        graph = q.graph_name
        if graph in skip:
            continue
        article = _claim_article(raw, graph)
        if article is not None and _is_fact(q, graph):
            out |= _publishers(raw, article)
    return out


def refresh(store: Store, drop, quads, also=()) -> tuple[list[ox.Quad], list[ox.Quad]]:
    """The fact quads to delete and to insert when the graphs ``drop`` are replaced by
    ``quads`` (rdflib-term quads, such as an article's bundle) and ``also`` (the registry
    entries they use) is added; for one atomic update, see
    :meth:`kg.store.Store.replace_graphs`.

    Only the facts of the dropped claim graphs and of the new ones are recounted: each is
    looked up in the store (which claim graphs assert it, outside ``drop``), then the new
    graphs' reports are added. The claim counts of the actors those graphs mention are adjusted
    (:func:`_recounted`). Nothing is written here.
    """
    raw = store.raw
    text = text_quads(quads)
    skip = {ox.NamedNode(str(g)) for g in drop}
    found = reports(text)
    touched: dict[Key, tuple | None] = dict.fromkeys(found)
    dropped = {}
    for graph in skip:
        if _claim_article(raw, graph) is not None:
            held = list(raw.quads_for_pattern(None, None, None, graph))
            dropped[graph] = {q.object for q in held if isinstance(q.object, ox.NamedNode)}
            for q in held:
                if _is_fact(q, graph):
                    touched[_key(q)] = (q.subject, q.predicate, q.object)
    delete, insert = [], []
    for key, terms in touched.items():
        terms = terms or _terms(key)
        outlets = _outlets_in_store(raw, terms, skip) | found.get(key, set())
        node = ox.NamedNode(str(iris.fact(*key)))
        old = set(raw.quads_for_pattern(node, None, None, _FACTS))
        new = set(fact_quads(key, outlets, terms)) if outlets else set()
        delete.extend(old - new)
        insert.extend(new - old)
    added, typed = _mentioned(text)
    typed |= _mentioned(text_quads(also))[1]
    added = {g: {ox.NamedNode(o[1:-1]) for o in objects} for g, objects in added.items()}
    gone, came = _recounted(raw, dropped, added, {ox.NamedNode(t[1:-1]) for t in typed}, skip)
    if added and stored_version(store) is None:
        came.append(version_quad())  # the store's first claims: counted by these rules
    return delete + gone, insert + came


def _recounted(raw: ox.Store, dropped: dict, added: dict, typed: set, skip: set):
    """The claim-count quads to delete and insert when the claim graphs ``dropped`` (graph ->
    the IRIs it mentions) give way to ``added``: a stored count moves by the difference, so the
    work follows the article. An actor without a stored count (no claim mentioned it, or the
    store was filled by hand) is counted in the store outside ``skip``. ``typed``: actors the
    new quads type, which the store may not know yet."""
    change: Counter = Counter()
    for objects in dropped.values():
        change.subtract(objects)
    for objects in added.values():
        change.update(objects)
    gone, came = [], []
    for term, moved in change.items():
        kept = list(raw.quads_for_pattern(term, _CLAIM_COUNT, None, _FACTS))
        if kept:
            if moved == 0:
                continue
            n = int(kept[0].object.value) + moved
        elif term in typed or next(raw.quads_for_pattern(term, _TYPE, _ACTOR, None), None) is not None:
            n = _count_in_store(raw, term, skip) + sum(term in o for o in added.values())
        else:
            continue
        gone.extend(kept)
        if n > 0:
            came.append(count_quad(term, n))
    return gone, came


def _count_in_store(raw: ox.Store, term, skip: set) -> int:
    """How many claim graphs of the store, outside ``skip``, mention ``term``."""
    graphs = {q.graph_name for q in raw.quads_for_pattern(None, None, term, None)
              if q.graph_name not in skip}
    return sum(1 for g in graphs if _claim_article(raw, g) is not None)


def replace_article(store: Store, stem: str, quads, *, also=()) -> int:
    """Replace everything one article contributed (its graph and claim graphs) by ``quads`` (its
    bundle, see :func:`kg.pipeline.article_bundle`), add ``also`` (the registry entries it
    uses) and recount the facts concerned, as one atomic update; returns the change in the
    number of fact quads."""
    return replace_articles(store, {stem: quads}, also=also)


def replace_articles(store: Store, bundles: dict, *, also=()) -> int:
    """:func:`replace_article` for several articles (stem -> bundle) in one atomic update: all
    of them are replaced, or none. A fact two of them report is counted once, with the outlets
    of both."""
    check_current(store)
    quads = [q for bundle in bundles.values() for q in bundle]
    old = [g for stem in bundles for g in store.graphs_of_article(stem)]
    also = list(also)
    gone, new = refresh(store, old, quads, also)
    store.replace_graphs(old, also + quads + new, delete=gone)
    return len(new) - len(gone)


def remove_article(store: Store, stem: str) -> int:
    """Take one article's graph and claim graphs out and recount the facts they asserted, as one
    atomic update; returns how many graphs went."""
    return remove_articles(store, [stem])[stem]


def remove_articles(store: Store, stems) -> dict[str, int]:
    """:func:`remove_article` for several articles in one atomic update; returns how many
    graphs went for each stem (0 for an article the store does not hold)."""
    check_current(store)
    graphs = {stem: [g for g in store.graphs_of_article(stem) if store.has_graph(g)]
              for stem in stems}
    drop = [g for held in graphs.values() for g in held]
    if drop:
        gone, new = refresh(store, drop, ())
        store.replace_graphs(drop, new, delete=gone)
    return {stem: len(held) for stem, held in graphs.items()}


def rebuild(store: Store) -> int:
    """Recount every fact of the store and every actor's claims, and make :data:`FACTS_GRAPH`
    hold the result; returns how many facts there are. For a store filled by hand
    (``Store.add``) or counted by an older kg (``kg rederive``): a build, ``kg add`` and
    ``kg remove`` keep the facts current themselves.

    Only the difference is written (:meth:`kg.store.Store.change`): at 100k articles the graph
    is 2.2M quads, of which a store counted by the previous rules lacks 24k, and rewriting it
    whole took most of the time (10k articles: 8.7 of 13.4 s) and, as one update, over 10 GB.
    Not atomic, so the :data:`FACTS_VERSION` marker goes first and comes back last: a recount
    stopped halfway leaves a store that :func:`check_current` refuses until it is run again,
    never one read as current.
    """
    raw = store.raw
    found: dict[Key, set[str]] = {}
    outlets: dict = {}
    counts: Counter = Counter()
    actors = {q.subject for q in raw.quads_for_pattern(None, _TYPE, _ACTOR, None)}
    for q in raw.quads_for_pattern(None, _DERIVED_FROM, None, None):
        claim, article = q.graph_name, q.object
        if q.subject != claim or not isinstance(claim, ox.NamedNode):
            continue
        held = list(raw.quads_for_pattern(None, None, None, claim))
        counts.update({fq.object for fq in held} & actors)
        if article not in outlets:
            outlets[article] = _publishers(raw, article)
        if not outlets[article]:
            continue
        for fq in held:
            if _is_fact(fq, claim):
                found.setdefault(_key(fq), set()).update(outlets[article])
    marker = version_quad()
    want = {q for key in found for q in fact_quads(key, found[key])}
    want.update(count_quad(actor, n) for actor, n in counts.items())
    have = set(raw.quads_for_pattern(None, None, None, _FACTS))
    markers = {q for q in have if q.subject == _FACTS and q.predicate == _VERSION}
    store.change(markers, ())
    have -= markers
    store.change(have - want, want - have)
    store.change((), [marker])
    return len(found)
