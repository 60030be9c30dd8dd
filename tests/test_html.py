"""The interactive HTML export (kg.html), opened in a real headless Chromium.

Every page is opened from disk (file://) with the network blocked: any request other than the
page itself is aborted and recorded, and the test fails if there was one. Console errors, page
errors and dialogs fail it too. Chromium is /usr/bin/chromium (tests/system-deps.sh installs it;
KG_CHROMIUM names another binary), driven by Playwright without Playwright's own browser
download. A missing browser is a failure, never a skip.

Set KG_UPDATE_DOCS_SCREENSHOT=1 to also refresh docs/graph.png (the README's picture) from the
seed graph's screenshot; tests/artifacts/graph.png is written on every run.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import pytest

from kg import html as kg_html
from kg.html import (GROUPS, LAYOUTS, PYTHON_LAYOUT_THRESHOLD, node_group, render_html,
                     script_json, spring_positions, write_html)
from kg.network import actor_meeting_network, actor_network, ego_network
from kg.query import evidence

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("KG_CHROMIUM", "/usr/bin/chromium"))
ID = "https://w3id.org/newskg/id/"
NK, POMPEO = ID + "actor/north-korea", ID + "actor/mike-pompeo"
TRUMP, KIM = ID + "actor/donald-trump", ID + "actor/kim-jong-un"
SINGAPORE = ID + "event/singapore-summit"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}

# The markup the hostile fixture puts in texts, quotes, labels and aliases.
HOSTILE_LABEL = "</option></select><img src=x onerror=window.__pwned=7>"
HOSTILE_SOURCE = "<img src=x onerror=window.__pwned=6>"
HOSTILE_MEETING = "<svg/onload=window.__pwned=9> summit"
HOSTILE_QUOTES = [
    "Hostile test report <script>window.__pwned=1</script>",
    'A spokesman for the Hostile Committee said <img src=x onerror="window.__pwned=2"> in a '
    "statement on Monday.",
    'The Committee\'s website embedded <iframe src="javascript:window.__pwned=3"></iframe> on '
    "Monday.",
    'Officials were told to <a href="javascript:window.__pwned=4">click</a> and said nothing '
    "more.",
    "An anonymous source wrote </script><script>window.__pwned=5</script> to reporters.",
    "\"quoted\" words & 'single' quotes, a line separator here:\u2028and a paragraph "
    "separator\u2029end the report.",
]
HOSTILE_TITLE = "Seed </title><script>window.__pwned=10</script> & <b>friends</b>"


# --- the browser --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from /usr/bin; a missing browser fails the tests (no skip)."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed ({CHROMIUM} is missing): run "
                    "`bash tests/system-deps.sh` (as root) to install it", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is missing: `pip install -e '.[test]'` "
                    "(the browser itself comes from tests/system-deps.sh, not `playwright "
                    "install`)", pytrace=False)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS,
                                      headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Opened:
    """A page opened from disk with every outside request blocked and everything recorded."""

    def __init__(self, browser, path: Path, timeout_ms: int = 60_000):
        self.url = path.resolve().as_uri()
        self.console, self.errors, self.dialogs = [], [], []
        self.requests, self.blocked, self.sockets = [], [], []
        self.context = browser.new_context(viewport=VIEWPORT, service_workers="block")
        self.context.route("**/*", self._route)
        self.page = page = self.context.new_page()
        page.on("console", lambda msg: self.console.append((msg.type, msg.text)))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", self._dialog)
        page.on("request", lambda req: self.requests.append(req.url))
        page.on("websocket", lambda ws: self.sockets.append(ws.url))
        started = time.perf_counter()
        page.goto(self.url)
        page.wait_for_function("() => window.kgReady === true", timeout=timeout_ms)
        self.load_seconds = time.perf_counter() - started

    def _route(self, route):
        url = route.request.url
        if url == self.url:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append((dialog.type, dialog.message))
        dialog.dismiss()

    def js(self, expression: str, arg=None):
        # A function, not a string: the page's Content-Security-Policy forbids eval.
        return self.page.evaluate(expression, arg)

    def assert_clean(self):
        errors = [text for kind, text in self.console if kind == "error"]
        assert errors == [], f"console errors: {errors}"
        assert self.errors == [], f"page errors: {self.errors}"
        assert self.dialogs == [], f"dialogs opened: {self.dialogs}"
        assert self.blocked == [], f"requests left the page: {self.blocked}"
        outside = [u for u in self.requests if u != self.url and not u.startswith("data:")]
        assert outside == [], f"requests left the page: {outside}"
        assert self.sockets == [], f"websockets opened: {self.sockets}"

    def close(self):
        self.context.close()


@pytest.fixture()
def opener(browser):
    opened = []

    def open_page(path, **kwargs):
        page = Opened(browser, path, **kwargs)
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        page.close()


def page_data(html: str) -> dict:
    """The JSON document a rendered page carries."""
    match = re.search(r'<script type="application/json" id="kg-data">(.*?)</script>', html,
                      re.S)
    assert match, "no data element in the page"
    return json.loads(match.group(1))


def node_ids(page: Opened) -> dict[str, int]:
    return page.js("() => Object.fromEntries(kg.nodes.get().map(n => [n.iri, n.id]))")


def dom_point(page: Opened, kind: str, vis_id: int) -> tuple[float, float]:
    """Where a node (its centre) or a link (its midpoint) is on the screen."""
    point = page.js("""([kind, id]) => {
        const net = kg.network;
        const at = kind === "node" ? net.getPosition(id)
                                   : net.body.edges[id].edgeType.getPoint(0.5);
        return net.canvasToDOM(at);
    }""", [kind, vis_id])
    box = page.page.locator("#kg-network").bounding_box()
    return box["x"] + point["x"], box["y"] + point["y"]


def hover(page: Opened, kind: str, vis_id: int) -> dict:
    """Move the real mouse over a node or link; the tooltip's kind, id and text."""
    page.js("() => kg.hideTooltip()")
    x, y = dom_point(page, kind, vis_id)
    page.page.mouse.move(x - 3, y - 3)
    page.page.mouse.move(x, y, steps=3)
    page.page.wait_for_selector("#kg-tooltip:not([hidden])", timeout=5_000)
    return page.js("""() => { const t = document.getElementById("kg-tooltip");
        return {kind: t.getAttribute("data-kind"), id: Number(t.getAttribute("data-id")),
                text: t.textContent}; }""")


def visible(page: Opened) -> dict:
    return page.js("() => kg.visible()")


def expected_visible(graph, *, outlets_off=(), groups_off=(), start=None, end=None):
    """What the page's filters should leave: (nodes, edges), computed from the graph."""
    edges_ok = []
    for u, v, attrs in graph.edges(data=True):
        if node_group(graph.nodes[u].get("kind")) in groups_off or \
                node_group(graph.nodes[v].get("kind")) in groups_off:
            ok = False
        elif attrs.get("outlets") and set(attrs["outlets"]) <= set(outlets_off):
            ok = False
        elif start or end:
            lo, hi = attrs.get("earliest"), attrs.get("latest")
            ok = bool(lo and hi) and not (end and lo > end) and not (start and hi < start)
        else:
            ok = True
        edges_ok.append((u, v, ok))
    nodes = 0
    for node, attrs in graph.nodes(data=True):
        if node_group(attrs.get("kind")) in groups_off:
            continue
        links = [ok for u, v, ok in edges_ok if node in (u, v)]
        if not links or any(links):
            nodes += 1
    return {"nodes": nodes, "edges": sum(ok for *_, ok in edges_ok)}


# --- the page, without a browser ----------------------------------------------------------------

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def seed_graph(seed_store):
    return actor_network(seed_store)


@pytest.fixture(scope="module")
def seed_html(seed_graph, seed_store):
    return render_html(seed_graph, seed_store, title=HOSTILE_TITLE)


def test_page_loads_nothing_from_outside(seed_html):
    parser = _Tags()
    parser.feed(seed_html)
    tags = parser.tags
    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "kg-data"}, {}, {}]
    assert not [t for t, _ in tags if t in ("link", "iframe", "img", "object", "embed", "base")]
    for tag, attrs in tags:
        for name in ("src", "href", "action", "srcset", "data"):
            assert name not in attrs or not re.match(r"\s*(https?:)?//", attrs[name] or ""), \
                (tag, attrs)
    assert "@import" not in seed_html
    csp = next(attrs["content"] for tag, attrs in tags
               if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "sourceMappingURL" not in seed_html
    assert "vis-network" in seed_html


def test_title_and_data_are_escaped(seed_html, seed_graph):
    head = seed_html.split("<body")[0]
    assert "<title>Seed &lt;/title&gt;&lt;script&gt;window.__pwned=10&lt;/script&gt; &amp; " \
           "&lt;b&gt;friends&lt;/b&gt;</title>" in head
    data_text = re.search(r'id="kg-data">(.*?)</script>', seed_html, re.S).group(1)
    assert not set("<>&\u2028\u2029") & set(data_text)
    data = page_data(seed_html)
    assert len(data["nodes"]) == seed_graph.number_of_nodes()
    assert len(data["edges"]) == seed_graph.number_of_edges()


def test_rendering_is_deterministic(seed_graph, seed_store, seed_html):
    assert render_html(seed_graph, seed_store, title=HOSTILE_TITLE) == seed_html
    small = nx.relaxed_caveman_graph(5, 4, 0.2, seed=1)
    assert render_html(small, None, title="s", layout="python") == \
        render_html(small, None, title="s", layout="python")


def test_script_json_round_trips_and_cannot_close_the_element():
    value = {"a": HOSTILE_QUOTES, "b": "<!-- </script> & \u2028\u2029 <![CDATA[ ]]>",
             "c": [1, 2.5, None, True]}
    text = script_json(value)
    assert json.loads(text) == value
    assert not set("<>&\u2028\u2029") & set(text)
    with pytest.raises(ValueError):
        script_json({"x": math.nan})


def test_render_checks_its_arguments(seed_graph):
    with pytest.raises(ValueError, match="layout must be one of auto, physics, python"):
        render_html(seed_graph, None, title="x", layout="circle")
    with pytest.raises(TypeError):
        render_html({"a": 1}, None, title="x")
    assert LAYOUTS == ("auto", "physics", "python")


def test_write_html_is_atomic_and_writes_one_file(tmp_path, seed_html, monkeypatch):
    target = tmp_path / "graph.html"
    assert write_html(target, seed_html) == target
    assert [p.name for p in tmp_path.iterdir()] == ["graph.html"]
    assert target.read_text(encoding="utf-8") == seed_html
    write_html(target, "second")
    assert target.read_text(encoding="utf-8") == "second"

    def broken(src, dst):
        raise OSError("disk full")

    import kg.fsio

    monkeypatch.setattr(kg.fsio.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_html(target, "third")
    assert target.read_text(encoding="utf-8") == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.html"]


def test_evidence_without_store_keeps_outlets_and_dates(seed_graph):
    data = page_data(render_html(seed_graph, None, title="no store"))
    assert data["claims"] and all(c["quote"] is None for c in data["claims"])
    assert {data["outlets"][c["outlet"]] for c in data["claims"]} == \
        {"Voice of America", "The Washington Post", "CBS News"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", c["date"]) for c in data["claims"])


def test_styles_cover_every_kind():
    from kg.entities import KINDS

    for kind in KINDS | {"source", "statement"}:
        group = node_group(kind)
        assert group in GROUPS
    assert node_group("topic") == "other" and node_group("measure") == "other"
    shapes = {(spec[1], spec[2]) for spec in GROUPS.values()}
    assert len(shapes) == len(GROUPS), "two node types look the same"


# --- the seed graph in the browser --------------------------------------------------------------

def _views(store):
    actors = actor_network(store)
    return {"actor_network": actors,
            "actor_meeting_network": actor_meeting_network(store),
            "ego_network": ego_network(actors, NK, 1)}


@pytest.mark.parametrize("view", ["actor_network", "actor_meeting_network", "ego_network"])
def test_every_view_draws_all_its_nodes_and_links(view, seed_store, opener, tmp_path):
    graph = _views(seed_store)[view]
    path = write_html(tmp_path / f"{view}.html",
                      render_html(graph, seed_store, title=f"Seed graph: {view}"))
    page = opener(path)
    counts = page.js("() => ({nodes: kg.nodes.length, edges: kg.edges.length, "
                     "shown: kg.visible(), drawn: Object.keys(kg.network.body.nodes).length})")
    assert counts["nodes"] == graph.number_of_nodes()
    assert counts["edges"] == graph.number_of_edges()
    assert counts["shown"] == {"nodes": graph.number_of_nodes(),
                               "edges": graph.number_of_edges()}
    assert counts["drawn"] >= graph.number_of_nodes()
    # physics placed the nodes, then was switched off: nothing moves any more
    before = page.js("() => kg.network.getPositions()")
    page.page.wait_for_timeout(400)
    assert page.js("() => kg.network.getPositions()") == before
    assert page.js("() => kg.network.physics.options.enabled") is False
    dashed = page.js("() => kg.edges.get({filter: e => e.dashes}).map(e => e.relation + ' ' + "
                     "e.label)")
    if view == "actor_meeting_network":
        expect = sum(1 for *_, d in graph.edges(data=True) if "attended" not in d["attendance"])
        assert expect and len(dashed) == expect
        assert all(not label.endswith("attended") for label in dashed)
    else:
        expect = sum(1 for *_, d in graph.edges(data=True)
                     if d["relation"] in ("missed", "disputed"))
        assert len(dashed) == expect
        assert expect or view == "ego_network"
    page.assert_clean()


def test_seed_graph_tooltips_search_and_filters(seed_store, seed_graph, opener, tmp_path):
    graph = seed_graph
    path = write_html(tmp_path / "graph.html",
                      render_html(graph, seed_store, title="News knowledge graph: actors"))
    page = opener(path)
    ids = node_ids(page)

    # Hovering North Korea shows the claims behind its links: verbatim quotes, outlet, date.
    tip = hover(page, "node", ids[NK])
    assert tip["kind"] == "node" and tip["id"] == ids[NK]
    assert tip["text"].startswith("North Korea")
    articles = "".join(p.read_text(encoding="utf-8") for p in (DATA / "articles").glob("*.txt"))
    nk_claims = {c for u, v, d in graph.edges(data=True) if NK in (u, v) for c in d["claims"]}
    quotes = {e["quote"] for e in evidence(seed_store, nk_claims).values()}
    shown = [q for q in quotes if q in tip["text"]]
    assert shown and all(q in articles for q in shown)
    cites = set(re.findall(r"— ([A-Z][\w .]+?), (\d{4}-\d\d-\d\d)", tip["text"]))
    reported = {(e["outlet"], e["published"]) for e in evidence(seed_store, nk_claims).values()}
    assert ("Voice of America", "2018-07-12") in reported
    assert cites and cites <= reported
    # every outlet that reported North Korea's links has a line among the first shown
    assert {outlet for outlet, _ in cites} == {outlet for outlet, _ in reported}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(ARTIFACTS / "graph.png"))
    if os.environ.get("KG_UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(ARTIFACTS / "graph.png", ROOT / "docs" / "graph.png")

    # Clicking keeps every quote in the details panel, the no-show among them.
    x, y = dom_point(page, "node", ids[NK])
    page.page.mouse.click(x, y)
    details = page.page.locator("#kg-details").text_content()
    assert "North Korea failed to show up Thursday for talks with U.S. officials" in details
    assert all(q in details for q in quotes)

    # Hovering a link shows its relation, its outlets and its quotes.
    met_id = page.js("""([a, b]) => kg.edges.get({filter: e => e.relation === "met" &&
                         ((e.from === a && e.to === b) || (e.from === b && e.to === a))})[0].id""",
                     [ids[TRUMP], ids[KIM]])
    tip = hover(page, "edge", met_id)
    assert tip["kind"] == "edge" and tip["id"] == met_id
    assert "Donald Trump" in tip["text"] and "Kim Jong Un" in tip["text"]
    met = graph.edges[TRUMP, KIM, f"met {SINGAPORE}"]
    assert "Singapore summit" in tip["text"]
    assert f"Outlets ({met['weight']} independent): {', '.join(met['outlets'])}" in tip["text"]
    assert any(e["quote"] in tip["text"] for e in evidence(seed_store, met["claims"]).values())
    page.page.mouse.move(2, 2)
    page.page.wait_for_selector("#kg-tooltip", state="hidden")

    # The search box finds Pompeo (case-insensitive), selects him and says how many it found.
    page.page.fill("#kg-search", "pompeo")
    wanted = [n for n, d in graph.nodes(data=True)
              if any("pompeo" in s.lower() for s in [d["label"], *d["aliases"]])]
    assert POMPEO in wanted
    assert page.page.locator("#kg-found").text_content() == f"{len(wanted)} found"
    assert "Mike Pompeo" in page.page.locator("#kg-results").text_content()
    assert ids[POMPEO] in page.js("() => kg.network.getSelectedNodes()")
    assert "Mike Pompeo" in page.page.locator("#kg-details").text_content()
    page.page.fill("#kg-search", "no such actor")
    assert page.page.locator("#kg-found").text_content() == "0 found"
    page.page.fill("#kg-search", "")

    # Unticking an outlet hides the links only it reported.
    full = visible(page)
    assert full == {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}
    page.page.locator("#kg-outlets label", has_text="Voice of America").locator("input").uncheck()
    after = visible(page)
    assert after == expected_visible(graph, outlets_off={"Voice of America"})
    assert after["edges"] < full["edges"]
    assert re.match(rf"{after['nodes']} of {full['nodes']} nodes, {after['edges']} of "
                    rf"{full['edges']} links shown", page.page.locator("#kg-counts").text_content())
    page.page.click("#kg-outlets-none")
    assert visible(page) == {"nodes": 0, "edges": 0}
    page.page.click("#kg-outlets-all")
    assert visible(page) == full

    # Dates: links outside the window go, undated ones too unless asked for.
    page.page.fill("#kg-from", "2019-01-01")
    assert visible(page) == expected_visible(graph, start="2019-01-01")
    assert visible(page)["edges"] < full["edges"]
    page.page.fill("#kg-to", "2018-12-31")
    page.page.fill("#kg-from", "2018-07-01")
    assert visible(page) == expected_visible(graph, start="2018-07-01", end="2018-12-31")
    page.page.click("#kg-dates-reset")
    assert visible(page) == full

    # Node types: unticking the unnamed sources hides them and their links.
    page.page.locator('#kg-types label[data-group="source"] input').uncheck()
    assert visible(page) == expected_visible(graph, groups_off={"source"})
    page.page.locator('#kg-types label[data-group="source"] input').check()
    assert visible(page) == full
    page.assert_clean()


def test_physics_layout_stops_once_stable(seed_graph, seed_store, opener, tmp_path):
    path = write_html(tmp_path / "p.html",
                      render_html(seed_graph, seed_store, title="p", layout="physics"))
    page = opener(path)
    assert page.js("() => kg.data.layout") == "physics"
    assert page.js("() => kg.network.physics.options.enabled") is False
    path = write_html(tmp_path / "q.html",
                      render_html(seed_graph, seed_store, title="q", layout="python"))
    page = opener(path)
    data = page.js("() => kg.data")
    assert data["layout"] == "python" and data["options"]["physics"]["enabled"] is False
    assert all("x" in n and "y" in n for n in data["nodes"])
    page.assert_clean()


# --- 5,000 nodes --------------------------------------------------------------------------------

def synthetic_graph(n_nodes=5000, seed=11) -> nx.MultiDiGraph:
    """A random actor network: a sparse tree-like backbone with some cross links."""
    rng = random.Random(seed)
    kinds = ["person", "state", "ministry", "organization", "outlet", "source"]
    relations = ["met", "missed", "criticized", "praised", "spoke_about", "disputed"]
    outlets = ["Outlet A", "Outlet B", "Outlet C", "Outlet D"]
    graph = nx.MultiDiGraph()
    for i in range(n_nodes):
        graph.add_node(f"https://example.org/actor/{i}", label=f"Actor {i}",
                       kind=kinds[i % len(kinds)], aliases=[f"A{i}"])
    for i in range(1, n_nodes):
        ends = [rng.randrange(max(0, i - 50), i)]
        if rng.random() < 0.4:
            ends.append(rng.randrange(n_nodes))
        for j in ends:
            if j == i:
                continue
            day = f"2018-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            said = sorted(rng.sample(outlets, rng.randint(1, 3)))
            graph.add_edge(f"https://example.org/actor/{i}", f"https://example.org/actor/{j}",
                           relation=rng.choice(relations), claims=[], outlets=said,
                           weight=len(said), earliest=day, latest=day)
    return graph


@pytest.fixture(scope="module")
def big():
    graph = synthetic_graph()
    started = time.perf_counter()
    html = render_html(graph, None, title="5,000 actors")
    return graph, html, time.perf_counter() - started


def test_large_graph_is_laid_out_in_python(big):
    graph, html, seconds = big
    assert graph.number_of_nodes() == 5000 > PYTHON_LAYOUT_THRESHOLD
    data = page_data(html)
    assert data["layout"] == "python"
    assert data["options"]["physics"] == {"enabled": False}
    assert len(data["nodes"]) == 5000 and len(data["edges"]) == graph.number_of_edges()
    xs = [n["x"] for n in data["nodes"]]
    ys = [n["y"] for n in data["nodes"]]
    assert all(math.isfinite(v) for v in xs + ys)
    assert len(set(zip(xs, ys))) == 5000, "two nodes share a position"
    # vis-network and the page's code take ~0.7 MB; the data about 0.6 KB a node with its links
    assert len(html) < 5_000_000, f"page is {len(html):,} bytes"
    assert seconds < 30, f"rendering took {seconds:.1f} s"


def test_spring_positions_are_deterministic_and_spread():
    graph = nx.relaxed_caveman_graph(30, 6, 0.1, seed=1)
    graph.add_nodes_from(["lonely-1", "lonely-2"])
    first = spring_positions(graph, seed=3)
    assert first == spring_positions(graph, seed=3)
    assert set(first) == set(graph)
    points = list(first.values())
    closest = min(math.dist(a, b) for i, a in enumerate(points) for b in points[i + 1:])
    assert closest > 5
    linked = sum(math.dist(first[u], first[v]) for u, v in graph.edges) / graph.number_of_edges()
    pairs = [(points[i], points[(i * 7 + 3) % len(points)]) for i in range(len(points))]
    anywhere = sum(math.dist(a, b) for a, b in pairs) / len(pairs)
    assert linked < anywhere / 2, "linked nodes are not placed near each other"
    assert spring_positions(nx.Graph()) == {}


def test_large_graph_stays_responsive_in_the_browser(big, opener, tmp_path):
    graph, html, _ = big
    page = opener(write_html(tmp_path / "big.html", html), timeout_ms=90_000)
    assert page.load_seconds < 60, f"the page took {page.load_seconds:.1f} s to show"
    assert page.js("() => [kg.nodes.length, kg.edges.length]") == [5000, graph.number_of_edges()]
    assert page.js("() => kg.network.physics.options.enabled") is False
    first = page.js("() => kg.nodes.get(0)")
    at = page.js("() => kg.network.getPosition(0)")
    assert abs(at["x"] - first["x"]) < 1 and abs(at["y"] - first["y"]) < 1
    timing = page.js("""() => {
        const t0 = performance.now();
        document.querySelector('#kg-outlets input').click();
        const t1 = performance.now();
        const found = kg.search("actor 4999");
        const t2 = performance.now();
        kg.network.redraw();
        const t3 = performance.now();
        return {filter: t1 - t0, search: t2 - t1, redraw: t3 - t2, found: found.length,
                shown: kg.visible()};
    }""")
    assert timing["found"] == 1
    assert timing["shown"] == expected_visible(graph, outlets_off={"Outlet A"})
    for step in ("filter", "search", "redraw"):
        assert timing[step] < 3000, f"{step} took {timing[step]:.0f} ms"
    page.assert_clean()


# --- a hostile article --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    """data/ plus the hostile fixture (an article, its claims, an entity file), built."""
    from kg.pipeline import build
    from kg.store import Store

    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    shutil.copytree(DATA, data)
    for part in ("articles", "claims", "entities"):
        for path in (HOSTILE / part).iterdir():
            shutil.copyfile(path, data / part / path.name)
    build(data, root / "build", validate=False)
    return root, Store(root / "build" / "store", read_only=True)


def _strip_csp(html: str) -> str:
    stripped, count = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    assert count == 1
    return stripped


@pytest.mark.parametrize("csp", [True, False], ids=["with-csp", "escaping-alone"])
@pytest.mark.parametrize("view", ["actor_network", "actor_meeting_network"])
def test_hostile_article_is_shown_as_text_and_runs_nothing(view, csp, hostile_build, opener):
    root, store = hostile_build
    graph = (actor_network if view == "actor_network" else actor_meeting_network)(store)
    committee = ID + "actor/hostile-committee"
    assert graph.nodes[committee]["label"] == HOSTILE_LABEL
    html = render_html(graph, store, title=HOSTILE_TITLE)
    if not csp:
        # Without the policy as a safety net, the escaping alone must hold.
        html = _strip_csp(html)
    page = opener(write_html(root / f"{view}-{csp}.html", html))
    assert page.js("() => document.title") == HOSTILE_TITLE
    assert page.page.locator("#kg-title").text_content() == HOSTILE_TITLE
    assert page.js("() => [kg.nodes.length, kg.edges.length]") == \
        [graph.number_of_nodes(), graph.number_of_edges()]
    ids = node_ids(page)
    assert page.js("(id) => kg.nodes.get(id).label", ids[committee]) == HOSTILE_LABEL

    # Every node and link's tooltip and details, built one after another.
    texts = page.js("""() => {
        const out = [];
        for (const n of kg.nodes.get()) {
            out.push(kg.showTooltip("node", n.id).textContent);
            kg.showDetails("node", n.id);
            out.push(document.getElementById("kg-details").textContent);
        }
        for (const e of kg.edges.get()) {
            out.push(kg.showTooltip("edge", e.id).textContent);
            kg.showDetails("edge", e.id);
            out.push(document.getElementById("kg-details").textContent);
        }
        kg.hideTooltip();
        return out;
    }""")
    everything = "\n".join(texts)
    assert HOSTILE_LABEL in everything
    wanted = HOSTILE_QUOTES if view == "actor_network" else HOSTILE_QUOTES[4:5]
    if view == "actor_network":
        assert HOSTILE_SOURCE in everything
        for quote in wanted:
            assert quote in everything, quote
    else:
        assert HOSTILE_MEETING in everything
        assert "The United States attended the <svg/onload=window.__pwned=9> summit on Monday" \
            in everything

    # The real mouse over every node: a tooltip each time, the hostile one as text.
    for iri, vis_id in ids.items():
        tip = hover(page, "node", vis_id)
        assert tip["kind"] == "node"
        if iri == committee:
            assert tip["id"] == vis_id and tip["text"].startswith(HOSTILE_LABEL)

    # The search box, with the hostile name and its '<script>' alias.
    page.page.fill("#kg-search", HOSTILE_LABEL)
    assert page.page.locator("#kg-found").text_content() == "1 found"
    assert page.page.locator("#kg-results").text_content() == HOSTILE_LABEL
    page.page.fill("#kg-search", "<script>")
    assert page.page.locator("#kg-found").text_content() == "1 found"
    page.page.locator("#kg-results button").click()
    assert page.page.locator("#kg-details h3").text_content() == HOSTILE_LABEL

    # Outlet names and legend entries are text too.
    assert "CNN" in page.page.locator("#kg-outlets").text_content()

    assert page.js("() => typeof window.__pwned") == "undefined"
    injected = page.js("""() => Array.from(document.querySelectorAll(
        "img, iframe, svg, select, option, object, embed, a[href], script")).map(
        e => e.tagName + (e.type ? ":" + e.type : ""))""")
    assert injected == ["SCRIPT:application/json", "SCRIPT", "SCRIPT"]
    page.assert_clean()
