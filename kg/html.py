"""The interactive HTML export: a network view as one self-contained page.

:func:`render_html` turns a networkx view (:func:`kg.network.actor_network`,
:func:`~kg.network.actor_meeting_network`, an :func:`~kg.network.ego_network` or a
:func:`~kg.network.restrict`-ion, or any graph with ``label``/``kind`` nodes and
``relation``/``claims``/``outlets``/``weight``/``earliest``/``latest`` edges) into an HTML page
that draws it with vis-network; :func:`write_html` writes the page atomically. Every node and link
shows, on hover, the claims behind it: the verbatim quote, the outlet and the date.

The page is one file that fetches nothing:

* vis-network's script and style are inlined from the copy pyvis ships
  (``pyvis/lib/vis-9.1.2``); there is no ``<script src>``, no stylesheet link, no CDN;
* the page is rendered by this module's own Jinja2 template (``kg/templates/graph.html``, with
  autoescaping), not by pyvis's, which writes its heading and menu options unescaped, switches
  every tooltip to HTML as soon as one title contains "href", and loads Bootstrap and
  vis-network from CDNs even "in line";
* all the data (labels, quotes, outlets) travels as one JSON document inside
  ``<script type="application/json">``, with ``<``, ``>``, ``&``, U+2028 and U+2029 written as
  ``\\u`` escapes so that no text can close the element (:func:`script_json`); the page's script
  builds tooltips, the legend, the filters and the search results with DOM nodes and
  ``textContent`` only, never ``innerHTML``;
* a Content-Security-Policy admits only the page's own two scripts (by their SHA-256), no
  network connection, no frame and no plugin, so even a mistake in the escaping could neither
  run a script nor send a request.

The page lays the graph out with vis-network's physics, which is switched off as soon as the
layout has stabilised; a graph of more than :data:`PYTHON_LAYOUT_THRESHOLD` nodes is laid out here
instead (:func:`spring_positions`, pure Python) and drawn with physics off, so that 5,000 nodes
stay responsive.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import random
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from pyvis.network import Network

from .memory import paused_gc

__all__ = ["render_html", "write_html", "script_json", "spring_positions", "node_group",
           "GROUPS", "LAYOUTS", "PYTHON_LAYOUT_THRESHOLD", "VIS_VERSION"]

#: How the page may be laid out: ``auto`` (physics up to :data:`PYTHON_LAYOUT_THRESHOLD` nodes,
#: positions computed in Python above), ``physics`` (vis-network's, switched off once stable) or
#: ``python`` (:func:`spring_positions`, physics off from the start).
LAYOUTS = ("auto", "physics", "python")

#: Above this many nodes, ``layout="auto"`` computes positions in Python.
PYTHON_LAYOUT_THRESHOLD = 1500

#: The vis-network build inlined into the page (the one pyvis 0.3.2 ships).
VIS_VERSION = "9.1.2"

#: Node groups: (legend label, vis-network shape, fill colour, border colour), in legend order.
GROUPS = {
    "person": ("Person", "dot", "#7aa6d6", "#2f5f96"),
    "state": ("State", "diamond", "#e8777a", "#a3282c"),
    "government": ("Government body", "triangle", "#f4a259", "#b05f12"),
    "organization": ("Organization", "square", "#8fcfc9", "#2c7a73"),
    "outlet": ("News outlet", "star", "#8cc47e", "#3d7a2e"),
    "meeting": ("Meeting", "hexagon", "#f2d16b", "#a18217"),
    "pledge": ("Pledge", "triangleDown", "#c39bd3", "#7a4a91"),
    "place": ("Place", "ellipse", "#e0b8a0", "#8a5a3c"),
    "statement": ("Statement", "box", "#f7f2d8", "#8f8a62"),
    "source": ("Unnamed source", "dot", "#d3d3d3", "#6b6b6b"),
    "other": ("Other", "dot", "#c8c8c8", "#7a7a7a"),
}

_KIND_GROUP = {
    "person": "person", "state": "state",
    "government": "government", "ministry": "government", "agency": "government",
    "military": "government",
    "organization": "organization", "outlet": "outlet",
    "meeting": "meeting", "summit": "meeting", "talks": "meeting", "visit": "meeting",
    "ceremony": "meeting", "incident": "meeting",
    "pledge": "pledge", "agreement": "pledge",
    "place": "place", "statement": "statement", "source": "source",
}

#: Link colours by relation (others are grey); ``missed``, ``disputed`` and attendance that was
#: expected but not kept are drawn dashed.
_RELATION_COLOURS = {
    "met": "#2f6db5", "missed": "#7f7f7f", "criticized": "#c9302c", "praised": "#3c9a3c",
    "disputed": "#8e44ad", "pledged_to": "#b8860b", "spoke_about": "#6c7a89",
    "spoke_for": "#16a085", "holds_office_in": "#5d6d7e", "part_of": "#95a5a6",
    "in_contact_with": "#2980b9", "requested": "#d35400", "participation": "#4f6d8f",
}
_DEFAULT_COLOUR = "#8a8a8a"
_DASHED = frozenset({"missed", "disputed"})
_EXTRA_ATTRS = ("title", "attendance", "dispute")
_TEMPLATES = Path(__file__).resolve().parent / "templates"
_JS_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
               0x2028: "\\u2028", 0x2029: "\\u2029"}
_LABELS = """
SELECT $s ?label WHERE { GRAPH ?g { $s <http://www.w3.org/2000/01/rdf-schema#label> ?label } }
ORDER BY ?label"""


def node_group(kind) -> str:
    """The legend group of an entity kind (``ministry`` -> ``government``; unknown -> ``other``).

    >>> node_group("ministry"), node_group("summit"), node_group(None)
    ('government', 'meeting', 'other')
    """
    return _KIND_GROUP.get(str(kind).lower() if kind else "", "other")


def script_json(value) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element of an HTML page.

    ``<``, ``>`` and ``&`` become ``\\u003c`` etc., so no text can end the element or open a
    comment, and U+2028/U+2029 are escaped too (they end a line in older JavaScript). The result
    is still JSON and parses to ``value``.

    >>> script_json({"q": "</script><b>&"})
    '{"q":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    >>> json.loads(script_json(["a\\u2028b"])) == ["a\\u2028b"]
    True
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.translate(_JS_ESCAPES)


# --- the vendored vis-network and the template --------------------------------------------------

@lru_cache(maxsize=1)
def _vis_assets() -> tuple[str, str]:
    """vis-network's minified script and its stylesheet, as pyvis ships them."""
    base = resources.files("pyvis") / "lib" / f"vis-{VIS_VERSION}"
    js = (base / "vis-network.min.js").read_text(encoding="utf-8")
    css = (base / "vis-network.css").read_text(encoding="utf-8")
    # The source map is not shipped and would only be fetched by developer tools: drop the link.
    js = re.sub(r"\n//# sourceMappingURL=[^\n]*\s*$", "\n", js)
    css = re.sub(r"\n/\*# sourceMappingURL=[^\n]*\*/\s*$", "\n", css)
    for name, text, closer in (("vis-network.min.js", js, "</script"),
                               ("vis-network.css", css, "</style")):
        if closer in text.lower() or "<!--" in text:
            raise RuntimeError(f"pyvis's {name} contains {closer!r} or '<!--': it cannot be "
                               "inlined safely")
    return js, css


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(_TEMPLATES)),
                       autoescape=select_autoescape(["html"], default=True),
                       keep_trailing_newline=True)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


# --- layout -------------------------------------------------------------------------------------

def spring_positions(graph, *, seed: int = 1, iterations: int | None = None,
                     edge_length: float = 110.0) -> dict:
    """Node positions (pixels) from a fast force-directed layout, in pure Python.

    Each connected component (direction ignored) starts with its nodes in breadth-first order
    along a Hilbert curve, so that linked nodes start near each other and every node about
    ``edge_length`` from the next, and is then relaxed by Fruchterman-Reingold with repulsion only
    between nodes in neighbouring grid cells and a logarithmic attraction (one iteration costs
    about O(nodes + edges)); nodes left nearer than a third of ``edge_length`` are finally pushed
    apart. The components are packed in rows, largest first.
    Deterministic for a given ``seed``. (networkx's own layouts need numpy/scipy, which the
    project does not depend on.)

    Parameters
    ----------
    graph : networkx.Graph
        Any graph; multi-edges count once.
    seed : int
        Seed of the small jitter added to the starting positions.
    iterations : int, optional
        Force iterations (default: fewer for bigger graphs, from 60 down to 15).
    edge_length : float
        The ideal distance between linked nodes.

    Returns
    -------
    dict
        node -> (x, y).

    Examples
    --------
    >>> pos = spring_positions(nx.path_graph(4))
    >>> sorted(pos) == [0, 1, 2, 3] and all(len(p) == 2 for p in pos.values())
    True
    """
    if graph.number_of_nodes() == 0:
        return {}
    undirected = graph.to_undirected(as_view=True) if graph.is_directed() else graph
    total = graph.number_of_nodes()
    if iterations is None:
        iterations = max(15, min(60, 75_000 // max(total, 1)))
    rng = random.Random(seed)
    order = {n: i for i, n in enumerate(graph.nodes)}
    components = sorted((sorted(c, key=order.__getitem__)
                         for c in nx.connected_components(undirected)),
                        key=lambda c: (-len(c), order[c[0]]))
    laid = []
    for nodes in components:
        # Breadth-first from the best-linked node: neighbours get near places on the curve.
        start = max(nodes, key=lambda n: (undirected.degree(n), -order[n]))
        bfs = [start, *(v for _, v in nx.bfs_edges(undirected, start))]
        index = {n: i for i, n in enumerate(bfs)}
        pairs = set()
        for n in bfs:
            i = index[n]
            for m in undirected[n]:
                j = index[m]
                if i < j:
                    pairs.add((i, j))
        xs, ys = _fruchterman_reingold(len(bfs), sorted(pairs), rng, iterations, edge_length)
        laid.append((bfs, xs, ys))
    return _pack(laid, edge_length)


def _hilbert(order: int, d: int) -> tuple[int, int]:
    """The ``d``-th cell of a Hilbert curve over a ``2**order`` square."""
    x = y = 0
    t = d
    s = 1
    while s < (1 << order):
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        if ry == 0:
            if rx == 1:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        x += s * rx
        y += s * ry
        t //= 4
        s *= 2
    return x, y


def _fruchterman_reingold(n, edges, rng, iterations, k):
    if n == 1:
        return [0.0], [0.0]
    order = max(1, math.ceil(math.log2(n) / 2))
    cells = 4 ** order
    # The nodes are spread along the whole curve, so they fill a square, about k apart.
    spacing = k * math.sqrt(n / cells)
    xs, ys = [], []
    for d in range(n):
        hx, hy = _hilbert(order, d * cells // n)
        xs.append((hx + rng.uniform(-0.3, 0.3)) * spacing)
        ys.append((hy + rng.uniform(-0.3, 0.3)) * spacing)
    cell = 1.6 * k
    reach = cell * cell
    k2 = k * k
    # The curve already spaces the nodes about k apart: moves stay local, so the start is
    # refined rather than scrambled.
    temperature = 2.0 * k
    cooling = (temperature - k / 10.0) / max(iterations, 1)
    for _ in range(iterations):
        dx = [0.0] * n
        dy = [0.0] * n
        grid: dict[tuple[int, int], list[int]] = {}
        for i in range(n):
            grid.setdefault((int(xs[i] // cell), int(ys[i] // cell)), []).append(i)
        # Repulsion between nodes of the same and neighbouring cells, each pair once.
        for (cx, cy), members in grid.items():
            near = list(members)
            for ox_, oy in ((1, 0), (1, 1), (0, 1), (-1, 1)):
                near.extend(grid.get((cx + ox_, cy + oy), ()))
            for a, i in enumerate(members):
                xi, yi = xs[i], ys[i]
                fx = fy = 0.0
                for j in near[a + 1:]:
                    ddx, ddy = xi - xs[j], yi - ys[j]
                    d2 = ddx * ddx + ddy * ddy
                    if d2 >= reach:
                        continue
                    if d2 < 0.01:
                        ddx, ddy, d2 = rng.uniform(-1, 1), rng.uniform(-1, 1), 1.0
                    f = k2 / d2
                    fx += ddx * f
                    fy += ddy * f
                    dx[j] -= ddx * f
                    dy[j] -= ddy * f
                dx[i] += fx
                dy[i] += fy
        # Attraction grows only logarithmically with length (as in LinLog), so that a few long
        # links cannot crush the graph into a ball with this short-range repulsion.
        for i, j in edges:
            ddx, ddy = xs[i] - xs[j], ys[i] - ys[j]
            d = math.sqrt(ddx * ddx + ddy * ddy) or 0.01
            f = k * math.log1p(d / k) / d
            dx[i] -= ddx * f
            dy[i] -= ddy * f
            dx[j] += ddx * f
            dy[j] += ddy * f
        for i in range(n):
            d = math.sqrt(dx[i] * dx[i] + dy[i] * dy[i])
            if d > 0:
                step = min(d, temperature) / d
                xs[i] += dx[i] * step
                ys[i] += dy[i] * step
        temperature -= cooling
    _separate(xs, ys, 0.35 * k)
    return xs, ys


def _separate(xs, ys, gap, rounds=4):
    """Push apart, a few times over, any two nodes nearer than ``gap``."""
    n = len(xs)
    for _ in range(rounds):
        grid: dict[tuple[int, int], list[int]] = {}
        for i in range(n):
            grid.setdefault((int(xs[i] // gap), int(ys[i] // gap)), []).append(i)
        moved = False
        for (cx, cy), members in grid.items():
            near = list(members)
            for ox_, oy in ((1, 0), (1, 1), (0, 1), (-1, 1)):
                near.extend(grid.get((cx + ox_, cy + oy), ()))
            for a, i in enumerate(members):
                for j in near[a + 1:]:
                    ddx, ddy = xs[j] - xs[i], ys[j] - ys[i]
                    d = math.sqrt(ddx * ddx + ddy * ddy)
                    if d >= gap:
                        continue
                    if d < 1e-6:
                        ddx, ddy, d = 1.0, 0.0, 1.0
                    push = (gap - d) / (2 * d)
                    xs[i] -= ddx * push
                    ys[i] -= ddy * push
                    xs[j] += ddx * push
                    ys[j] += ddy * push
                    moved = True
        if not moved:
            break


def _pack(laid, gap) -> dict:
    """Place laid-out components in rows (shelf packing), largest first."""
    boxes = []
    for nodes, xs, ys in laid:
        lo_x, lo_y = min(xs), min(ys)
        boxes.append((nodes, [x - lo_x for x in xs], [y - lo_y for y in ys],
                      max(xs) - lo_x + gap, max(ys) - lo_y + gap))
    row_width = max(max(b[3] for b in boxes), math.sqrt(sum(b[3] * b[4] for b in boxes)) * 1.2)
    positions = {}
    x = y = shelf = 0.0
    for nodes, xs, ys, width, height in boxes:
        if x > 0 and x + width > row_width:
            x, y, shelf = 0.0, y + shelf, 0.0
        for node, px, py in zip(nodes, xs, ys):
            positions[node] = (round(x + px, 1), round(y + py, 1))
        x += width
        shelf = max(shelf, height)
    # Centre on the origin, where vis-network's view starts.
    cx = (min(p[0] for p in positions.values()) + max(p[0] for p in positions.values())) / 2
    cy = (min(p[1] for p in positions.values()) + max(p[1] for p in positions.values())) / 2
    # Whole pixels: vis-network keeps positions as integers anyway.
    return {n: (round(px - cx), round(py - cy)) for n, (px, py) in positions.items()}


# --- the data -----------------------------------------------------------------------------------

def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _texts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted(str(v) for v in value if v is not None)
    return [str(value)]


def _edge_rows(graph):
    """``(u, v, key, attrs)`` for every edge of any kind of networkx graph."""
    if graph.is_multigraph():
        for u, v, key, attrs in graph.edges(keys=True, data=True):
            yield u, v, key, attrs
    else:
        for u, v, attrs in graph.edges(data=True):
            yield u, v, None, attrs


def _via_labels(store, graph, vias) -> dict[str, str]:
    """Labels for the meetings, pledges and statements edges come from."""
    labels = {}
    for via in vias:
        if via in graph:
            labels[via] = str(graph.nodes[via].get("label", via))
        elif store is not None and via.startswith(("http://", "https://")):
            try:
                for row in store.raw.query(_LABELS, substitutions={ox.Variable("s"):
                                                                   ox.NamedNode(via)}):
                    labels[via] = row["label"].value
                    break
            except (ValueError, OSError, SyntaxError):
                pass
    return labels


def _claims_index(store, graph, claim_iris, more_outlets=()):
    """The evidence of every claim as compact rows, each claim's row number, and the outlets.

    Outlets are listed once, sorted (those of the claims and ``more_outlets``); a row refers to
    its outlet by position in that list.
    """
    from .query import evidence

    known = graph.graph.get("claims") if isinstance(graph.graph.get("claims"), dict) else {}
    found = evidence(store, claim_iris) if store is not None and claim_iris else {}
    rows, ids, names = [], {}, set(more_outlets)
    for claim in sorted(claim_iris):
        ev = found.get(claim) or {}
        info = known.get(claim) if isinstance(known.get(claim), dict) else {}
        outlet = ev.get("outlet") or info.get("outlet")
        if outlet is not None:
            outlet = str(outlet)
            names.add(outlet)
        ids[claim] = len(rows)
        rows.append({"iri": claim, "quote": ev.get("quote"), "outlet": outlet,
                     "date": _text(ev.get("published") or info.get("published")),
                     "article": _text(ev.get("article") or info.get("article"))})
    outlets = sorted(names, key=lambda name: (name.casefold(), name))
    outlet_ids = {name: i for i, name in enumerate(outlets)}
    for row in rows:
        if row["outlet"] is not None:
            row["outlet"] = outlet_ids[row["outlet"]]
    return rows, ids, outlets, outlet_ids


def _is_big(n_nodes: int, n_edges: int) -> bool:
    """Whether to draw for speed: straight links, no link labels, links hidden while moving."""
    return n_nodes > PYTHON_LAYOUT_THRESHOLD or n_edges > 2 * PYTHON_LAYOUT_THRESHOLD


def _options(directed: bool, physics: bool, n_nodes: int, n_edges: int) -> dict:
    big = _is_big(n_nodes, n_edges)
    groups = {}
    for name, (_label, shape, fill, border) in GROUPS.items():
        groups[name] = {"shape": shape,
                        "color": {"background": fill, "border": border,
                                  "highlight": {"background": fill, "border": "#111111"},
                                  "hover": {"background": fill, "border": "#111111"}}}
        if name == "source":
            groups[name]["shapeProperties"] = {"borderDashes": [4, 3]}
    return {
        "autoResize": True,
        "groups": groups,
        "nodes": {"borderWidth": 1.5, "font": {"size": 14, "face": "sans-serif"},
                  "scaling": {"min": 10, "max": 34, "label": {"enabled": False}}},
        "edges": {"font": {"size": 10, "align": "middle", "face": "sans-serif",
                           "strokeWidth": 3, "color": "#333333"},
                  "smooth": False if big else {"enabled": True, "type": "continuous"},
                  "arrows": {"to": {"enabled": directed, "scaleFactor": 0.6}},
                  "selectionWidth": 2, "hoverWidth": 1},
        "interaction": {"hover": True, "tooltipDelay": 120, "hideEdgesOnDrag": big,
                        "hideEdgesOnZoom": big,
                        "multiselect": True, "navigationButtons": False,
                        "keyboard": {"enabled": True, "bindToWindow": False}},
        "layout": {"improvedLayout": n_nodes <= 100, "randomSeed": 7},
        "physics": ({"enabled": True, "solver": "forceAtlas2Based",
                     "forceAtlas2Based": {"gravitationalConstant": -80, "springLength": 140,
                                          "springConstant": 0.06, "avoidOverlap": 0.4},
                     "stabilization": {"enabled": True,
                                       "iterations": 600 if n_nodes <= 300 else 250,
                                       "updateInterval": 25, "fit": True},
                     "minVelocity": 1.0}
                    if physics else {"enabled": False}),
    }


def _graph_data(graph, store, layout: str) -> dict:
    directed = graph.is_directed()
    n_nodes = graph.number_of_nodes()
    use_python = layout == "python" or (layout == "auto" and n_nodes > PYTHON_LAYOUT_THRESHOLD)
    positions = spring_positions(graph) if use_python else {}

    ids = {node: i for i, node in enumerate(graph.nodes)}
    edges_raw = list(_edge_rows(graph))
    claim_iris = {str(c) for *_, attrs in edges_raw for c in _texts(attrs.get("claims"))}
    claim_iris |= {str(c) for _, attrs in graph.nodes(data=True)
                   for c in _texts(attrs.get("claims"))}
    claims, claim_ids, outlets, outlet_ids = _claims_index(
        store, graph, claim_iris, {o for *_, a in edges_raw for o in _texts(a.get("outlets"))})
    vias = sorted({str(a["via"]) for *_, a in edges_raw if a.get("via")})
    via_labels = _via_labels(store, graph, vias)

    net = Network(directed=directed, height="100%", width="100%", cdn_resources="in_line")
    degree = dict(graph.degree())
    for node, attrs in graph.nodes(data=True):
        kind = attrs.get("kind")
        item = {"id": ids[node], "label": str(attrs.get("label", node)),
                "group": node_group(kind), "kind": None if kind is None else str(kind),
                "iri": str(node), "aliases": _texts(attrs.get("aliases")),
                "value": degree.get(node, 0) + 1, "degree": degree.get(node, 0),
                "claims": sorted(claim_ids[c] for c in _texts(attrs.get("claims"))
                                 if c in claim_ids)}
        for extra in ("place",):
            if attrs.get(extra):
                item[extra] = _texts(attrs[extra])
        for extra in ("earliest", "latest"):
            if attrs.get(extra):
                item[extra] = _text(attrs[extra])
        if node in positions:
            item["x"], item["y"] = positions[node]
        net.nodes.append(item)
        net.node_ids.append(ids[node])

    big = _is_big(n_nodes, len(edges_raw))
    pair_count: dict[tuple, int] = {}
    for number, (u, v, _key, attrs) in enumerate(edges_raw):
        relation = str(attrs.get("relation") or "link")
        weight = attrs.get("weight", 1)
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            weight = 1.0
        if not math.isfinite(weight) or weight < 0:
            weight = 1.0
        extras = {name: _texts(attrs.get(name)) for name in _EXTRA_ATTRS if attrs.get(name)}
        attendance = extras.get("attendance", [])
        dashed = relation in _DASHED or (bool(attendance) and "attended" not in attendance)
        symmetric = bool(attrs.get("symmetric"))
        via = _text(attrs.get("via"))
        link_claims = sorted(claim_ids[c] for c in _texts(attrs.get("claims"))
                             if c in claim_ids)
        if attrs.get("outlets") is not None:
            link_outlets = sorted(outlet_ids[o] for o in _texts(attrs.get("outlets")))
        else:  # not a kg.network view: the outlets of its claims
            link_outlets = sorted({claims[i]["outlet"] for i in link_claims
                                   if claims[i]["outlet"] is not None})
        # In the actor-meeting view every link is a participation: its statuses say more.
        label = "/".join(attendance) if relation == "participation" and attendance else relation
        item = {"id": number, "from": ids[u], "to": ids[v], "relation": relation,
                "weight": weight if weight % 1 else int(weight),
                "width": round(min(1.6 * max(weight, 1.0), 9.6), 2),
                "dashes": dashed, "color": {"color": _RELATION_COLOURS.get(relation,
                                                                            _DEFAULT_COLOUR),
                                            "highlight": "#111111", "hover": "#111111",
                                            "opacity": 0.85},
                "outlets": link_outlets,
                "claims": link_claims,
                "earliest": _text(attrs.get("earliest")), "latest": _text(attrs.get("latest")),
                "via": via, "viaLabel": via_labels.get(via) if via else None,
                "extras": extras}
        if not big:
            # Thousands of link labels cost more to draw than the rest of the picture: a big
            # graph's links say their relation by colour, in the legend and in the tooltip.
            item["label"] = label
        if directed and symmetric:
            item["arrows"] = {"to": {"enabled": False}}
        # Parallel links between the same two nodes are bent apart so each can be seen.
        pair = (min(ids[u], ids[v]), max(ids[u], ids[v]))
        seen = pair_count.get(pair, 0)
        pair_count[pair] = seen + 1
        if seen:
            item["smooth"] = {"enabled": True, "type": "curvedCW" if seen % 2 else "curvedCCW",
                              "roundness": round(0.18 * ((seen + 1) // 2), 2)}
        net.edges.append(item)

    net.options = _options(directed, not use_python, n_nodes, len(edges_raw))
    nodes, edges, _heading, _height, _width, options = net.get_network_data()
    dates = sorted({d for e in edges for d in (e["earliest"], e["latest"]) if d})
    relations = sorted({e["relation"] for e in edges})
    groups_present = sorted({n["group"] for n in nodes}, key=list(GROUPS).index)
    return {
        "directed": directed,
        "layout": "python" if use_python else "physics",
        "nodes": nodes, "edges": edges, "options": json.loads(options),
        "claims": claims, "outlets": outlets,
        "groups": [{"name": g, "label": GROUPS[g][0], "shape": GROUPS[g][1],
                    "color": GROUPS[g][2], "border": GROUPS[g][3]} for g in groups_present],
        "relations": [{"name": r, "color": _RELATION_COLOURS.get(r, _DEFAULT_COLOUR),
                       "dashed": r in _DASHED} for r in relations],
        "dates": {"min": dates[0] if dates else None, "max": dates[-1] if dates else None},
        "view": _text(graph.graph.get("view")),
        "window": [_text(d) for d in (graph.graph.get("window") or (None, None))],
    }


# --- the page -----------------------------------------------------------------------------------

@paused_gc()  # 100k articles, an ego page of 1,292 actors: 11.8 s with collection, 4.4 paused
def render_html(graph, store=None, *, title: str, layout: str = "auto") -> str:
    """One self-contained, interactive HTML page drawing ``graph``.

    Parameters
    ----------
    graph : networkx.Graph, DiGraph, MultiGraph or MultiDiGraph
        A view from :mod:`kg.network` (or any graph whose nodes have ``label``/``kind`` and whose
        edges have ``relation``, ``claims``, ``outlets``, ``weight``, ``earliest``, ``latest``).
    store : kg.store.Store, optional
        The store the view was made from: each claim's verbatim quote, outlet and date are read
        from it (:func:`kg.query.evidence`). Without it, tooltips show outlets and dates only.
    title : str
        The page's title and heading (any text: it is escaped).
    layout : str
        One of :data:`LAYOUTS`.

    Returns
    -------
    str
        The page. It loads nothing from anywhere: scripts, styles and data are inline.

    Raises
    ------
    ValueError
        An unknown ``layout``.
    TypeError
        ``graph`` is not a networkx graph.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"expected a networkx graph, not {type(graph).__name__}")
    data = _graph_data(graph, store, layout)
    vis_js, vis_css = _vis_assets()
    template = _environment().get_template("graph.html")
    app_js = str(template.module.app_script())
    csp = "; ".join([
        "default-src 'none'",
        f"script-src {_sha256(vis_js)} {_sha256(app_js)}",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "font-src 'none'", "connect-src 'none'", "frame-src 'none'", "object-src 'none'",
        "media-src 'none'", "worker-src 'none'", "manifest-src 'none'",
        "base-uri 'none'", "form-action 'none'",
    ])
    return template.render(
        title=str(title), csp=csp, vis_version=VIS_VERSION,
        vis_js=Markup(vis_js), vis_css=Markup(vis_css), app_js=Markup(app_js),
        data_json=Markup(script_json(data)),
        n_nodes=len(data["nodes"]), n_edges=len(data["edges"]))


def write_html(path, html: str) -> Path:
    """Write the page to ``path`` atomically (a temporary file beside it, then a rename).

    Nothing else is written: the page needs no ``lib/`` folder. A reader sees the old file or
    the new one, never a part.
    """
    from .fsio import write_atomic

    return write_atomic(path, lambda out: out.write(html.encode("utf-8")))
