"""The ``kg`` command. Each command is a thin layer over one library function; the library's
errors (:class:`kg.errors.KGError`) become one clean line on stderr and exit status 1."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

import click

from .errors import KGError

__all__ = ["cli"]


def _clean_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except KGError as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper


def _version(ctx, _param, value):
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    from .allocator import describe

    click.echo(f"kg, version {version('kg')}\nmemory allocator: {describe()}")
    ctx.exit()


@click.group()
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and the memory allocator this process runs with, and "
                   "exit.")
def cli():
    """Build and question a knowledge graph of news reports, every fact traced to its sentence."""


@cli.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Data directory (default: the project's data/).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("build"), show_default=True, help="Output directory.")
@click.option("--no-validate", is_flag=True,
              help="Skip the SHACL check (at 10k-100k articles it adds 15-30% to a build).")
@click.option("--progress/--no-progress", default=None,
              help="Report the articles read so far on stderr (default: when stderr is a "
                   "terminal).")
@click.option("--warm/--no-warm", default=True, show_default=True,
              help="Then make the first page of every listing and the name index and keep "
                   "them beside the store, as `kg warm` does (at 100k articles about 6 s).")
@_clean_errors
def build(data_dir, out_dir, no_validate, progress, warm):
    """Build the graph from articles and claims: writes kg.trig, kg.nq, store/, summary.json."""
    from .pipeline import DEFAULT_DATA, build as run_build

    stream = sys.stderr  # click.get_text_stream is deprecated from Click 8.5 (a warning)
    if progress is None:
        progress = stream.isatty()
    shown = _Progress(stream) if progress else None
    try:
        report = run_build(data_dir or DEFAULT_DATA, out_dir, validate=not no_validate,
                           progress=shown)
    finally:
        if shown is not None:
            shown.close()  # an error's message then starts on a line of its own
    click.echo(f"built {out_dir}/ from {data_dir or DEFAULT_DATA}")
    for name in ("articles", "claims", "actors", "meetings", "pledges", "statements", "figures",
                 "graphs", "triples"):
        click.echo(f"  {name:<11}{getattr(report, name):>7}")
    click.echo("  SHACL      " + ("skipped" if no_validate else "conforms"))
    for path in report.outputs:
        click.echo(f"  wrote {path}")
    if warm:
        _warm_and_report(out_dir / "store", None, None, each=False)


def _warm_and_report(store_path, names, rows, *, each: bool):
    """Warm the listings ``names`` of the store at ``store_path`` and its name index, side by
    side (see :func:`kg.query.warm_store`), and say what was kept, listing by listing if
    ``each``. With no place for answers, the name index alone."""
    from .errors import QueryError
    from .kept_answers import KeptAnswers
    from .query import WARM_ROWS, warm_names, warm_store

    store = _open(store_path)
    if KeptAnswers.beside(store) is None:
        click.echo("  first pages not kept: keeping answers is turned off (KG_KEEP_ANSWERS=off), "
                   "or the store changed while it was opened")
        try:
            took = warm_names(store)
        except QueryError:  # the store changed while it was opened: nothing can be kept
            click.echo("  name index not kept: the store changed while it was opened")
            return
    else:
        rows = rows or WARM_ROWS
        done, took = warm_store(store, names or None, rows=rows)
        made = [w for w in done if w.made]
        kept = sum(w.kept for w in made)
        click.echo(f"  first {rows} rows of the listings: {kept} made and kept beside the "
                   f"store, {len(made) - kept} too quick to need it, {len(done) - len(made)} "
                   f"kept already ({sum(w.seconds for w in made):.1f} s)")
        for w in done if each else ():
            how = ("kept already" if not w.made else
                   f"{w.seconds * 1000:,.0f} ms, " + ("kept" if w.kept else "not kept"))
            click.echo(f"    {w.name:<14} {how}")
    click.echo("  name index: kept already" if took is None else
               f"  name index: read from the store and kept beside it ({took:.1f} s)")


class _Progress:
    """A ``progress(done, total)`` for :func:`kg.pipeline.build`: one line rewritten in place on
    a terminal; elsewhere (a log), a line at each tenth of the articles."""

    def __init__(self, stream):
        self._stream, self._tty = stream, stream.isatty()
        self._tenth, self._open = -1, False

    def __call__(self, done: int, total: int) -> None:
        line = f"  {done:,}/{total:,} articles read"
        if done >= total:
            # the last loads and the compaction follow, silently: 10 s at 100k articles
            line += "; finishing the store"
        if self._tty:
            self._stream.write("\r" + line)
            self._open = True
            if done >= total:
                self.close()
        elif done * 10 // total > self._tenth:
            self._tenth = done * 10 // total
            self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> None:
        """End a line left open on a terminal."""
        if self._open:
            self._stream.write("\n")
            self._stream.flush()
            self._open = False


_STORE = click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path),
                      default=Path("build/store"), show_default=True,
                      help="The store written by `kg build`.")
_STORE_RW = click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path),
                         default=Path("build/store"), show_default=True,
                         help="The persistent store to change (written by `kg build`).")
_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
                       default="table", show_default=True,
                       help="table, csv, or json (SPARQL 1.1 Query Results JSON).")
_EVIDENCE = click.option("--evidence", is_flag=True,
                         help="Show, for every row, the claims behind it: outlet, date, article, "
                              "offsets and the verbatim quote.")
#: The rows a command prints at most when no page is asked.
_MAX_ROWS = 10_000
_LIMIT = click.option("--limit", type=click.IntRange(1), default=_MAX_ROWS, show_default=True,
                      help="At most this many rows.")


def _open(store_path):
    from .derive import open_current

    return open_current(store_path)


def _params(pairs):
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r}: write NAME=VALUE", param_hint="--param")
        out[name.strip()] = value
    return out


def _emit(store, result, fmt, with_evidence):
    from .output import format_result
    from .query import claims_of, evidence

    ev = None
    if with_evidence:
        ev = evidence(store, [c for row in result.rows for c in claims_of(row)])
    click.echo(format_result(result, fmt, evidence=ev), nl=False)


@cli.command()
@click.argument("name", required=False)
@click.option("--param", "-p", "pairs", multiple=True, metavar="NAME=VALUE",
              help="A parameter value; repeat for several. Names may be labels or aliases.")
@click.option("--list", "list_", is_flag=True, help="List the named queries and their parameters.")
@click.option("--endpoint", help="Ask a remote SPARQL store (where `kg push` sent the graph) "
                                  "instead of the local one; names are resolved locally.")
@_STORE
@_FORMAT
@_EVIDENCE
@click.option("--limit", type=click.IntRange(1), default=None,
              help="A page of this many rows (with --offset). Without it, at most 10,000 rows.")
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True,
              help="Skip this many rows first: with --limit, a page of a long answer.")
@_clean_errors
def query(name, pairs, list_, endpoint, store_path, fmt, evidence, limit, offset):
    """Run the named query NAME (see --list), e.g. `kg query meetings -p actor=Pompeo`.

    `kg query actors --limit 20 --offset 40` gives the third page of 20 rows. An answer that
    took 10 ms or more is kept beside the store and read back when asked again, until the
    store changes (KG_KEEP_ANSWERS=off: always ask the store)."""
    from .query import load_queries, run_named

    if list_ or not name:
        for q in load_queries().values():
            click.echo(f"{q.name}: {q.description}")
            for p in q.params:
                opt = ", optional" if p.optional else ""
                click.echo(f"    --param {p.name}=…  ({p.kind}{opt}) {p.description}")
        return
    store = _open(store_path)
    paged = limit is not None  # a page asked; else a bound on the rows printed
    limit = limit if paged else _MAX_ROWS
    if endpoint:
        import os

        from .remote import RemoteStore, run_named_remote

        remote = RemoteStore(endpoint, password=os.environ.get("KG_REMOTE_PASSWORD"))
        result = run_named_remote(remote, name, _params(pairs), local_store=store, limit=limit,
                                  offset=offset)
    else:
        result = run_named(store, name, _params(pairs), limit=limit, offset=offset,
                           plan=paged)
    _emit(store, result, fmt, evidence)


@cli.command()
@click.argument("query_text", metavar="QUERY")
@click.option("--timeout", type=click.FloatRange(0.1), default=60.0, show_default=True,
              help="Seconds the query may run; it runs in a worker process that is stopped then.")
@_STORE
@_FORMAT
@_EVIDENCE
@_LIMIT
@_clean_errors
def sparql(query_text, timeout, store_path, fmt, evidence, limit):
    """Run any read-only SPARQL QUERY, given as text or as a path to a .rq file.

    The project's prefixes (kg:, sem:, schema:, prov:, oa:, ...) are predeclared. SERVICE,
    LOAD, updates and FROM outside the store are refused; the query runs in a worker process
    that is stopped at --timeout, so a runaway query cannot hang the terminal.
    """
    from .errors import QueryError
    from .worker import QueryRunner

    text = query_text
    if query_text.endswith(".rq") or (len(query_text) < 4096 and Path(query_text).is_file()):
        try:
            text = Path(query_text).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise QueryError(f"cannot read query file: {exc}", file=query_text) from None
    store = _open(store_path)
    with QueryRunner(store_path, timeout=timeout, max_rows=limit, workers=1) as runner:
        result = runner.select(text)
    _emit(store, result, fmt, evidence)


def _window(func):
    func = click.option("--start", help="Only links dated on or after this day (YYYY-MM-DD).")(func)
    func = click.option("--end", help="Only links dated on or before this day (YYYY-MM-DD).")(func)
    func = click.option("--outlet", "outlets", multiple=True,
                        help="Only claims from this outlet (name or key); repeat for several.")(func)
    return func


#: Actors above which networkx's betweenness or closeness takes many seconds (at 100k
#: articles, 3,215 actors: 113 s and 61 s).
_SLOW_PATHS = 1_000


def _actor_view(store, start, end, outlets):
    from .network import actor_network

    return actor_network(store, start=start, end=end, outlets=list(outlets) or None)


@cli.command()
@click.option("--measure", default="degree", show_default=True,
              help="degree, betweenness, closeness, eigenvector or pagerank.")
@click.option("--top", type=click.IntRange(1), default=15, show_default=True,
              help="How many actors to show.")
@_window
@_STORE
@_clean_errors
def central(measure, top, start, end, outlets, store_path):
    """Rank actors by centrality in the actor network (weights: independent outlets)."""
    from .network import centrality

    view = _actor_view(_open(store_path), start, end, outlets)
    if (measure in ("betweenness", "closeness") and len(view) > _SLOW_PATHS
            and importlib.util.find_spec("igraph") is None):
        click.echo(f"(networkx searches every shortest path among {len(view):,} actors in "
                   f"Python, which can take minutes; with igraph, `pip install -e '.[fast]'`, "
                   f"seconds)", err=True)
    ranking = centrality(view, measure)
    click.echo(f"{measure} centrality, actor network, top {min(top, len(ranking))} "
               f"of {len(ranking)}")
    for rank, (_iri, label, score) in enumerate(ranking[:top], 1):
        click.echo(f"{rank:>3}. {label:<40} {score:.4f}")


@cli.command()
@click.argument("source")
@click.argument("target")
@click.option("--max-chains", type=click.IntRange(1), default=20, show_default=True,
              help="Show at most this many shortest chains.")
@_window
@_STORE
@_clean_errors
def path(source, target, max_chains, start, end, outlets, store_path):
    """Every shortest chain connecting two actors, with the claims behind each link."""
    from .network import connecting_chains
    from .query import evidence as fetch_evidence

    store = _open(store_path)
    graph = _actor_view(store, start, end, outlets) if (start or end or outlets) else store
    chains = connecting_chains(graph, source, target, max_chains=max_chains)
    if not chains:
        click.echo(f"no chain connects {source} and {target}")
        return
    ev = fetch_evidence(store, {c for chain in chains for link in chain for c in link["claims"]})
    for number, chain in enumerate(chains, 1):
        click.echo(f"chain {number} ({len(chain)} link{'s' if len(chain) > 1 else ''}):")
        for link in chain:
            click.echo(f"  {link['source_label']} --{link['relation']}--> {link['target_label']}"
                       f"  [{link['weight']} outlet{'s' if link['weight'] != 1 else ''}]")
            for claim in link["claims"]:
                e = ev.get(claim)
                if e:
                    click.echo(f"      {e['outlet']}, {e['published']}: "
                               f"“{' '.join(e['quote'].split())}”")


@cli.command()
@click.argument("actor")
@click.option("--radius", type=click.IntRange(0), default=1, show_default=True,
              help="How many links away from ACTOR to reach.")
@_window
@_STORE
@_clean_errors
def ego(actor, radius, start, end, outlets, store_path):
    """The actors within RADIUS links of ACTOR, and the links among them."""
    from .network import ego_network
    from .query import resolve_name

    store = _open(store_path)
    iri = resolve_name(store, actor, "actor").value
    graph = ego_network(_actor_view(store, start, end, outlets), iri, radius)
    click.echo(f"ego network of {graph.nodes[iri]['label'] if iri in graph else actor}, "
               f"radius {radius}: {graph.number_of_nodes()} actors, "
               f"{graph.number_of_edges()} links")
    for u, v, data in sorted(graph.edges(data=True), key=lambda e: (e[2]["relation"], e[0], e[1])):
        click.echo(f"  {graph.nodes[u]['label']} --{data['relation']}--> "
                   f"{graph.nodes[v]['label']}  [{data['weight']}]")


@cli.command()
@click.argument("stems", metavar="STEM...", nargs=-1, required=True)
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Data directory (default: the project's data/).")
@_STORE_RW
@click.option("--no-validate", is_flag=True, help="Skip the SHACL check.")
@_clean_errors
def add(stems, data_dir, store_path, no_validate):
    """Add or replace articles (data/articles/STEM.txt and their claims) without a rebuild.

    Several stems go in as one atomic update: all of them or, if one is invalid, none; the
    store is opened and flushed once for all, which is most of the cost of one."""
    from .pipeline import DEFAULT_DATA, add_articles

    done = add_articles(stems, data_dir or DEFAULT_DATA, store_path, validate=not no_validate)
    for one in done["articles"]:
        click.echo(f"added {one['article']}: {one['claims']} claims, {one['quads']} quads "
                   f"({one['graphs_added']} graphs new, {one['graphs_removed']} replaced or "
                   f"removed)")
    change = done["store_change"]
    size = (f"{change} more quads" if change > 0 else f"{-change} fewer quads" if change < 0
            else "as many quads as before")
    click.echo(f"the store holds {size}; run `kg export` to refresh kg.trig and kg.nq, and "
               "`kg warm` to keep the first pages and the name index made (a running "
               "`kg serve` does that itself)")


@cli.command()
@click.argument("stems", metavar="STEM...", nargs=-1, required=True)
@_STORE_RW
@_clean_errors
def remove(stems, store_path):
    """Take articles and all their claims out of the store (their files in data/ stay).

    Several stems go out as one atomic update; if the store holds no article of one of them,
    nothing is removed."""
    from .pipeline import remove_articles

    for stem, n in remove_articles(stems, store_path).items():
        click.echo(f"removed {stem}: {n} graphs; delete data/articles/{stem}.* and "
                   f"data/claims/{stem}.yaml too, or the next `kg build` brings it back")
    click.echo("run `kg warm` to keep the first pages and the name index made (a running "
               "`kg serve` does that itself)")


@cli.command()
@click.argument("names", metavar="[LISTING]...", nargs=-1)
@_STORE
@click.option("--rows", type=click.IntRange(1), default=None,
              help="Rows of each listing to keep (default 20, a page of `kg serve`).")
@_clean_errors
def warm(names, store_path, rows):
    """Make the first page of each listing (a named query with no parameter; default: all of
    them) and keep it beside the store, so that it is read back when first asked; and read the
    store's names (every label and alias) into the index that names are looked up in, kept
    beside it too.

    `kg build` does this itself, and so does a running `kg serve`. After `kg add` or
    `kg remove` nothing kept before is read back (it was of the store as it was): run
    `kg warm` again. What is kept already is not made again."""
    _warm_and_report(store_path, list(names), rows, each=True)


@cli.command()
@_STORE_RW
@_clean_errors
def optimize(store_path):
    """Compact the store on disk: run it after many `kg add` / `kg remove` (each leaves files
    that every later question also reads; `kg build` compacts its new store itself)."""
    from .pipeline import optimize as run_optimize

    run_optimize(store_path)
    click.echo(f"compacted {store_path}")


@cli.command()
@_STORE_RW
@_clean_errors
def rederive(store_path):
    """Recount the store's derived facts (corroboration counts, actors' claim counts) by this
    kg's rules, without reading the articles again: what a store built by an older kg needs
    before it can be asked or added to."""
    from .pipeline import rederive as run_rederive

    facts = run_rederive(store_path)
    click.echo(f"recounted {store_path}: {facts} facts")


@cli.command()
@_STORE
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("build"), show_default=True, help="Where to write the files.")
@_clean_errors
def export(store_path, out_dir):
    """Write kg.trig, kg.nq and summary.json from the store (after `kg add` / `kg remove`)."""
    from .pipeline import export as run_export

    report = run_export(store_path, out_dir)
    click.echo(f"exported {report.triples} quads in {report.graphs} graphs")
    for path in report.outputs:
        click.echo(f"  wrote {path}")


@cli.command()
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="The HTML file to write (nothing else is written).")
@click.option("--view", type=click.Choice(["actors", "meetings"]), default="actors",
              show_default=True, help="actors: the typed actor network; meetings: the "
                                      "actor–meeting network.")
@click.option("--ego", help="Only this actor's neighbourhood (see --radius).")
@click.option("--radius", type=click.IntRange(0), default=1, show_default=True,
              help="Links away from --ego to include.")
@click.option("--query", "query_name", help="Draw the answer of this named query instead.")
@click.option("--param", "-p", "pairs", multiple=True, metavar="NAME=VALUE",
              help="A parameter of --query; repeat for several.")
@click.option("--title", help="The page's title (default: says what is drawn).")
@_window
@_STORE
@_clean_errors
def html(out_path, view, ego, radius, query_name, pairs, title, start, end, outlets, store_path):
    """Write one self-contained interactive HTML page of the graph or a view of it: no
    network needed, all scripts inline, every article text escaped."""
    from .html import render_html, write_html
    from .network import (actor_meeting_network, actor_network, ego_network, restrict,
                          result_network)
    from .query import resolve_name, run_named

    store = _open(store_path)
    window = {"start": start, "end": end, "outlets": list(outlets) or None}
    if query_name:
        graph = result_network(store, run_named(store, query_name, _params(pairs)))
        if start or end or outlets:
            graph = restrict(graph, **window)
        what = f"answer of {query_name}"
    elif view == "meetings":
        graph, what = actor_meeting_network(store, **window), "actors and meetings"
    else:
        graph, what = actor_network(store, **window), "actor network"
    if ego:
        iri = resolve_name(store, ego, "actor").value
        graph = ego_network(graph, iri, radius)
        what += f" around {graph.nodes[iri]['label'] if iri in graph else ego}, radius {radius}"
    page = render_html(graph, store, title=title or f"kg: {what}")
    write_html(out_path, page)
    click.echo(f"wrote {out_path}: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} "
               f"edges, {len(page.encode('utf-8')) // 1024} kB, self-contained")


@cli.command(name="import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--graph", "graph_iri", required=True,
              help="The named graph (an http(s) IRI outside the project's own id/ space) the "
                   "triples go into.")
@click.option("--format", "fmt", type=click.Choice(["nt", "nq", "turtle", "trig"]),
              help="The format, when the file name does not tell it.")
@_STORE_RW
@_clean_errors
def import_(path, graph_iri, fmt, store_path):
    """Add your own RDF (N-Triples, N-Quads, Turtle or TriG) into one named graph of the store,
    e.g. reference data to query beside the claims. RDF/XML and JSON-LD are refused (they can
    fetch URLs and expand entities); the file is parsed in a sandboxed process."""
    from .pipeline import import_file

    count = import_file(path, graph_iri, store_path, fmt=fmt)
    click.echo(f"imported {count} triples from {path} into <{graph_iri}>")


@cli.command()
@_STORE
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; keep the loopback default unless you mean it.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on.")
@click.option("--timeout", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Seconds a query may run before its worker is stopped.")
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True,
              help="Query worker processes.")
@click.option("--keep-rows", type=click.IntRange(0), default=50_000, show_default=True,
              help="Rows of answers kept, in all, to give again when the same question is "
                   "asked before the store changes; 0 keeps none.")
@click.option("--warm/--no-warm", default=True, show_default=True,
              help="Keep every listing's first page and the name index made, as `kg warm` "
                   "does: at start, and again once the store has changed and then stayed "
                   "unchanged for 2 s.")
@_clean_errors
def serve(store_path, host, port, timeout, workers, keep_rows, warm):
    """Serve the store read-only as a SPARQL 1.1 endpoint (/sparql), with the named questions
    as URLs (/query/NAME?param=value) and a small query page (/). Changes made while it runs
    (kg add, kg remove, a new kg build) are seen within about a second."""
    from .server import serve as run_server

    run_server(store_path, host, port, timeout, workers=workers, keep_rows=keep_rows, warm=warm)


@cli.command()
@click.option("--endpoint", required=True,
              help="The remote store's SPARQL query URL (e.g. http://host:8890/sparql).")
@click.option("--update-url", help="Its SPARQL Update URL, if different from --endpoint.")
@click.option("--gsp-url", help="Its Graph Store HTTP Protocol URL (faster when given).")
@click.option("--user", help="User name; the password is read from $KG_REMOTE_PASSWORD.")
@click.option("--article", help="Push only this article's graphs (its file stem).")
@click.option("--batch", type=click.IntRange(1), default=250, show_default=True,
              help="Triples per update request.")
@click.option("--no-prune", is_flag=True,
              help="Keep remote graphs of this project that the local store no longer has.")
@_STORE
@_clean_errors
def push(endpoint, update_url, gsp_url, user, article, batch, no_prune, store_path):
    """Send the graph (or one article's graphs) to a remote SPARQL 1.1 store (Virtuoso,
    Fuseki, GraphDB, Neptune), replacing the graphs it already holds."""
    import os

    from .remote import RemoteStore, push as run_push

    remote = RemoteStore(endpoint, update_url, gsp_url, user=user,
                         password=os.environ.get("KG_REMOTE_PASSWORD"))
    report = run_push(_open(store_path), remote, article=article, batch=batch,
                      prune=not no_prune)
    facts = f", and {report.facts} triples of fact nodes" if report.facts else ""
    click.echo(f"pushed {report.graphs} graphs, {report.triples} triples{facts} in "
               f"{report.requests} requests; dropped {report.dropped} stale graphs")


def main():  # pragma: no cover - console entry point (tests/test_allocator.py runs it)
    from .allocator import restart

    restart()  # mimalloc, where installed: see kg.allocator for why
    cli(prog_name="kg")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
