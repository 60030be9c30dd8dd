"""The build: the one place (with the CLI and notebooks) that chains the stages.

``data/`` -> articles -> claims -> quads -> validated -> store -> ``build/`` outputs.

Outputs are written to a new generation directory and published by renaming one symlink only
when everything succeeded, so a failed or killed build leaves the previous outputs as they were.
"""

from __future__ import annotations

import fcntl
import gc
import itertools
import json
import os
import shutil
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .articles import (MAX_TEXT_BYTES, STEM_PATTERN, Article, article_files, corpus_stems,
                       load_article)
from .claims import ClaimSet, link_disputes, load_claim_file
from .entities import IndexedRegistry, Registry, cached_registry, load_registry
from .errors import ArticleError, ClaimError, StoreBusy, StoreError
from .fsio import ReadAhead, write_atomic
from .memory import paused_gc
from . import derive, yamlio
from .nquads import encode as encode_text
from .nquads import text_quads
from .store import Encoded, Spooled, Store, require_store, spool
from .triples import actor_iris, article_quads, claim_quads, entity_quads, ontology_quads
from .validate import validate_bundles, validate_quads

__all__ = ["Corpus", "load_corpus", "corpus_quads", "article_bundle", "build", "BuildReport",
           "summarize", "add_article", "add_articles", "remove_article", "remove_articles",
           "optimize", "rederive", "import_file", "export", "exclusive", "OUTPUT_NAMES",
           "ONTOLOGY_PATH", "LOAD_BATCH", "default_workers", "DEFAULT_DATA", "DEFAULT_OUT"]

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY_PATH = ROOT / "ontology" / "kg.ttl"
DEFAULT_DATA = ROOT / "data"
DEFAULT_OUT = Path("build")


@dataclass
class Corpus:
    """Everything read from a data directory, validated, before any triple is made."""

    data_dir: Path
    registry: Registry
    articles: dict[str, Article]
    claim_sets: dict[str, ClaimSet]

    def claims_file(self, stem: str) -> str | None:
        cset = self.claim_sets.get(stem)
        return None if cset is None else os.path.relpath(cset.file, self.data_dir)


def _read_article(registry: Registry, text_path: Path) -> Article:
    article = load_article(text_path)
    registry.resolve(article.outlet, {"outlet"}, file=article.meta_path, item="outlet")
    return article


def _read_claims(data_dir: Path, registry: Registry, article: Article) -> ClaimSet | None:
    path = Path(article_files(data_dir, article.stem)[2])
    return load_claim_file(path, article, registry) if path.exists() else None


def _text_path(data_dir: Path, stem: str) -> Path | None:
    """The text file of the article ``stem``, if there is one. Only a stem fit for an IRI names
    a file: anything else (``../x``) is no article, and no path is made of it."""
    if not isinstance(stem, str) or not STEM_PATTERN.fullmatch(stem):
        return None
    path = article_files(data_dir, stem)[0]
    return Path(path) if os.path.lexists(path) else None


def _article_stems(data_dir: Path) -> list[str]:
    """Every article's stem, sorted; a claim file without its article is an error. Names only:
    a build needs no more."""
    stems, claimed = corpus_stems(data_dir)
    known = set(stems)
    for stem in claimed:
        if stem not in known:
            raise ClaimError("claim file has no article text (articles/<stem>.txt)",
                             file=article_files(data_dir, stem)[2])
    return stems


def _article_texts(data_dir: Path) -> dict[str, Path]:
    """Every article's text file by stem; a claim file without its article is an error."""
    return {stem: Path(article_files(data_dir, stem)[0]) for stem in _article_stems(data_dir)}


def _batch_files(data_dir: Path, stems: list[str]) -> list[str]:
    """The files a worker reads for the articles ``stems``: text, metadata and claims."""
    return [path for stem in stems for path in article_files(data_dir, stem)]


def load_corpus(data_dir: Path | str = DEFAULT_DATA, only: list[str] | None = None, *,
                registry: Registry | None = None, workers: int | None = 0) -> Corpus:
    """Read and check the registry, the articles and their claims.

    ``only`` restricts reading to some article stems: only their files are read (and those of
    articles whose claims they dispute, by stem), never a listing of the whole corpus, so the
    cost does not grow with the corpus. ``registry`` is used instead of reading
    ``entities/`` (see :func:`kg.entities.cached_registry`).

    ``workers`` > 0 reads and checks the articles in that many processes, in batches of
    :data:`LOAD_BATCH` stems (reading YAML is most of a build's Python time); ``None`` chooses
    (:func:`default_workers`). The result is the same; when several files are wrong, the one
    reported is the first of the first batch holding an error rather than the first in reading
    order.
    """
    data_dir = Path(data_dir)
    if registry is None:
        registry = load_registry(data_dir / "entities", data_dir / "wikidata.tsv")
    if only is None:
        texts = _article_texts(data_dir)
        wanted = sorted(texts)
    else:
        texts, wanted = {}, list(only)
        for stem in wanted:
            path = _text_path(data_dir, stem)
            if path is None:
                claims_path = data_dir / "claims" / f"{stem}.yaml"
                if STEM_PATTERN.fullmatch(stem) and os.path.lexists(claims_path):
                    raise ClaimError("claim file has no article text (articles/<stem>.txt)",
                                     file=claims_path)
                raise ArticleError("no such article", file=data_dir / "articles" / f"{stem}.txt")
            texts[stem] = path
    if workers is None:
        workers = default_workers(len(wanted))
    if workers > 0 and len(wanted) > LOAD_BATCH:
        articles, claim_sets = _load_in_workers(data_dir, registry, wanted, workers)
        return Corpus(data_dir, registry, articles, claim_sets)
    articles = {s: _read_article(registry, texts[s]) for s in wanted}
    claim_sets = {}
    for stem, article in articles.items():
        cset = _read_claims(data_dir, registry, article)
        if cset is not None:
            claim_sets[stem] = cset

    def other(stem):
        path = texts.get(stem) if only is None else _text_path(data_dir, stem)
        if path is None:
            return None
        return _read_claims(data_dir, registry, _read_article(registry, path))

    link_disputes(claim_sets, other)
    return Corpus(data_dir, registry, articles, claim_sets)


#: Articles per task when a corpus is read by several processes.
LOAD_BATCH = 250
_WORKER_REGISTRY: Registry | None = None  # what forked loaders resolve names with


def _load_batch(task):
    data_dir, stems = task
    part = load_corpus(data_dir, only=stems, registry=_WORKER_REGISTRY)
    return part.articles, part.claim_sets


def _batches(stems: list[str]) -> list[list[str]]:
    """``stems`` cut into the batches of :data:`LOAD_BATCH` that a worker reads at a time."""
    return [stems[i:i + LOAD_BATCH] for i in range(0, len(stems), LOAD_BATCH)]


def _load_in_workers(data_dir: Path, registry: Registry, stems: list[str], workers: int):
    """Articles and claim sets of ``stems``, read by forked worker processes, in order.

    Each batch is an ``only`` load: a dispute naming an article of another batch reads that
    article's claims again, by stem, to resolve the reference.
    """
    tasks = [(data_dir, batch) for batch in _batches(stems)]
    articles, claim_sets = {}, {}
    for part_articles, part_claims in _in_workers(_load_batch, tasks, data_dir, registry,
                                                  workers):
        articles.update(part_articles)
        claim_sets.update(part_claims)
    return articles, claim_sets


def _in_workers(function, tasks: list, data_dir: Path, registry: Registry, workers: int):
    """``function`` of each task, in order, computed by ``workers`` forked processes."""
    with _pool(data_dir, registry, workers) as pool:
        yield from pool.imap(function, tasks)


@contextmanager
def _pool(data_dir: Path, registry: Registry, workers: int):
    """``workers`` forked processes that resolve names with ``registry`` (as
    :data:`_WORKER_REGISTRY`); leaving ends them."""
    import multiprocessing

    global _WORKER_REGISTRY
    if isinstance(registry, IndexedRegistry):  # an SQLite connection is not shared by forks
        registry = load_registry(data_dir / "entities", data_dir / "wikidata.tsv")
    _WORKER_REGISTRY = registry
    try:
        with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_gc) as pool:
            yield pool
    finally:
        _WORKER_REGISTRY = None


def _worker_gc() -> None:
    """Garbage collection for a forked worker: what it inherits (the registry, the modules) is
    set aside (``gc.freeze``), and full collections, which walk every object still alive (the
    term converter's memories, the batch in hand), become rare. A worker's garbage is mostly
    acyclic, freed by reference counting; over 16 batches of the 100k corpus, full collections
    took 1.4 of 5.2 s, and 3.6 s was the whole with them set aside (the same peak memory)."""
    gc.freeze()
    young, middle, _old = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)


def default_workers(articles: int) -> int:
    """Processes a build reads ``articles`` articles with: one per CPU it may use (at most 4),
    none (read in this process) for a corpus of one batch or on one CPU."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 0 if articles <= LOAD_BATCH or (cpus or 1) < 2 else min(4, cpus)


def article_bundle(corpus: Corpus, stem: str) -> list:
    """All quads one article contributes: its graph and one graph per claim."""
    article = corpus.articles[stem]
    cset = corpus.claim_sets.get(stem)
    cfile = corpus.claims_file(stem)
    quads = list(article_quads(article, cset, cfile))
    for claim in (cset.claims if cset else ()):
        quads.extend(claim_quads(claim, article, cfile))
    return quads


def corpus_quads(corpus: Corpus, *, validate: bool = True, ontology: bool = True):
    """Every quad of the corpus, article by article, each article validated as it is made.

    An article is validated with the registry entries it uses, not the whole registry, so the
    cost of validation follows the article's size.
    """
    yield from entity_quads(corpus.registry)
    if ontology:
        yield from ontology_quads(ONTOLOGY_PATH)
    for stem in corpus.articles:
        yield from _checked_bundle(corpus, stem, validate)


def _checked_bundle(corpus: Corpus, stem: str, validate: bool) -> list:
    """:func:`article_bundle`, validated (when asked) with the registry entries it uses."""
    bundle = article_bundle(corpus, stem)
    if validate:
        validate_quads(*_checked(corpus, stem, bundle))
    return bundle


def _checked(corpus: Corpus, stem: str, bundle: list) -> tuple:
    """What validates an article's ``bundle``: it with the registry entries it uses, the
    article's file and its stem (see :func:`kg.validate.validate_bundles`)."""
    return _used(corpus, stem) + bundle, corpus.articles[stem].path, stem


def _used(corpus: Corpus, stem: str) -> list:
    """The quads of the registry entries the article ``stem`` uses."""
    return list(entity_quads(corpus.registry, _entities_used(corpus, stem)))


def _encoded_batch(task) -> tuple[Encoded | Spooled, dict, dict]:
    """A worker's share of a build: read and check a batch of articles, make their quads and
    serialize them (see :func:`kg.nquads.encode`), so that the build's own process only loads
    and writes bytes (handed over in files when the task names where: :class:`Spooled`);
    with the outlets reporting each fact of the batch
    (:func:`kg.derive.reports`) and how many of its claims mention each actor
    (:func:`kg.derive.mentions`). Runs in a forked worker (the registry is
    :data:`_WORKER_REGISTRY`) or, for a small corpus, in the build's process (the registry is
    given)."""
    data_dir, stems, validate, registry, spool_to = task
    registry = registry or _WORKER_REGISTRY
    corpus = load_corpus(data_dir, only=stems, registry=registry)
    bundles = [article_bundle(corpus, stem) for stem in stems]
    if validate:
        validate_bundles(_checked(corpus, stem, bundle) for stem, bundle in zip(stems, bundles))
    made = [q for bundle in bundles for q in bundle]
    batch = text_quads(made)
    part = encode_text(batch, prefixes=False)
    return (part if spool_to is None else spool(part, spool_to), derive.reports(batch),
            derive.mentions(batch, actor_iris(registry)))


@contextmanager
def _encoded_corpus(data_dir: Path, registry: Registry, batches: list[list[str]], *,
                    validate: bool, workers: int):
    """An iterator of :class:`Encoded` parts of the whole corpus, each with the outlets reporting
    its facts, in the order of :func:`corpus_quads`: the registry and the ontology (with the
    TriG prefixes), then the articles, a part per batch of ``batches``, made by ``workers``
    forked processes (none: in this one), which hand them over in files (:class:`Spooled`,
    in a temporary directory removed on leaving). The processes are forked on entering, before the
    caller opens a store or takes a lock that they must not inherit, and end on leaving."""
    def head():
        yield (encode_text(text_quads(itertools.chain(entity_quads(registry),
                                                      ontology_quads(ONTOLOGY_PATH))),
                           prefixes=True), {}, {})

    if workers <= 0 or len(batches) <= 1:
        yield itertools.chain(head(), (_encoded_batch((data_dir, b, validate, registry, None))
                                       for b in batches))
        return
    # the workers hand their parts over as files (Spooled), removed as they are loaded
    spooled = tempfile.TemporaryDirectory(prefix="kg-build-parts-")
    tasks = [(data_dir, b, validate, None, os.path.join(spooled.name, str(i)))
             for i, b in enumerate(batches)]
    with spooled, _pool(data_dir, registry, workers) as pool, \
            ReadAhead((_batch_files(data_dir, b) for b in batches), ahead=4,
                      max_bytes=max(MAX_TEXT_BYTES, yamlio.MAX_BYTES)) as ahead:
        results = _bounded_imap(pool, _encoded_batch, _announced(tasks, ahead), 2 * workers)
        try:
            yield itertools.chain(head(), results)  # the registry's part made as workers start
        finally:
            # a caller that stopped taking parts (its store failed) still holds them: closed
            # here, before the pool ends, so that the pool's feeding thread stops waiting
            results.close()


def _announced(tasks: list, ahead: ReadAhead):
    """``tasks``, telling ``ahead`` which one is handed out, so that the files of the next
    few are read into the page cache while the workers read this one's."""
    for index, task in enumerate(tasks):
        ahead.reached(index)
        yield task


def _bounded_imap(pool, function, tasks, ahead: int) -> "_Bounded":
    """``pool.imap(function, tasks)`` with at most ``ahead`` results made and not yet taken;
    the tasks start being handed out at once, before the first result is asked for.

    ``imap`` hands out every task at once, so workers faster than the consumer (the store's
    loader) pile their results up in this process, without bound as a corpus grows (at 100k
    articles the workers were done 35 s before the loads). The tasks are handed out as results
    are taken instead; the pool's feeding thread waits, not the workers. An error, or closing
    the results (or dropping them), lets the feeding thread go: the pool cannot end while it
    waits."""
    return _Bounded(pool, function, tasks, ahead)


class _Bounded:
    """The results of :func:`_bounded_imap`, in order."""

    def __init__(self, pool, function, tasks, ahead: int):
        room, done = self._room, self._done = threading.Semaphore(ahead), threading.Event()

        # not a method: the pool's feeding thread holds this generator, which must not keep
        # the results alive once their consumer drops them (their __del__ lets it go)
        def handed_out():
            for task in tasks:
                while not room.acquire(timeout=0.1):
                    if done.is_set():
                        return
                yield task

        # called now, not on the first next(): the workers start on the first batches while
        # this process makes the registry's part and opens the store (a build's first 2 s)
        self._results = pool.imap(function, handed_out())

    def __iter__(self):
        return self

    def __next__(self):
        try:
            result = next(self._results)
        except BaseException:
            self.close()
            raise
        self._room.release()
        return result

    def close(self) -> None:
        self._done.set()

    __del__ = close


@dataclass
class BuildReport:
    articles: int = 0
    claims: int = 0
    actors: int = 0
    meetings: int = 0
    pledges: int = 0
    statements: int = 0
    figures: int = 0
    triples: int = 0
    graphs: int = 0
    outputs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


_COUNTS = """
PREFIX kg: <https://w3id.org/newskg/ontology#>
PREFIX sem: <http://semanticweb.cs.vu.nl/2009/11/sem/>
PREFIX schema: <https://schema.org/>
SELECT
  (COUNT(DISTINCT ?article) AS ?articles) (COUNT(DISTINCT ?claim) AS ?claims)
  (COUNT(DISTINCT ?actor) AS ?actors) (COUNT(DISTINCT ?meeting) AS ?meetings)
  (COUNT(DISTINCT ?pledge) AS ?pledges) (COUNT(DISTINCT ?statement) AS ?statements)
  (COUNT(DISTINCT ?figure) AS ?figures)
WHERE {
  { GRAPH ?g { ?article a schema:NewsArticle } } UNION { GRAPH ?g { ?claim a kg:Claim } }
  UNION { GRAPH ?g { ?actor a sem:Actor } } UNION { GRAPH ?g { ?meeting a kg:Meeting } }
  UNION { GRAPH ?g { ?pledge a kg:Pledge } } UNION { GRAPH ?g { ?statement a kg:Statement } }
  UNION { GRAPH ?g { ?figure a kg:ReportedFigure } }
}"""


def summarize(store: Store, *, triples: int | None = None) -> BuildReport:
    """Counts of what a store holds; ``triples``, when known (a build counts what it wrote),
    spares a scan of every quad."""
    row = next(iter(store.raw.query(_COUNTS)))
    report = BuildReport(**{name: int(row[name].value) for name in (
        "articles", "claims", "actors", "meetings", "pledges", "statements", "figures")})
    report.triples = len(store) if triples is None else triples
    report.graphs = sum(1 for _ in store.raw.named_graphs())
    return report


#: What a build publishes, each a symlink ``name -> current/name`` in the output directory.
OUTPUT_NAMES = ("kg.trig", "kg.nq", "summary.json", "store")


@contextmanager
def exclusive(directory: Path | str):
    """Hold the output directory's lock: one build, add or remove at a time.

    Raises
    ------
    StoreBusy
        Another process holds the lock.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot open store: {exc.strerror or exc}", file=directory) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreBusy("store is busy: another kg build, add or remove is running",
                        file=directory) from None
    try:
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def _writing(store_dir: Path | str):
    """The store in ``store_dir`` open for writing, under its lock; closed before the lock is
    let go, whatever happens (a store left open past it would refuse the next writer)."""
    require_store(store_dir)
    with exclusive(Path(store_dir).parent), Store(store_dir, must_exist=True) as store:
        yield store


def _symlink(target: str, link: Path) -> None:
    """Point ``link`` at ``target`` atomically (a new link renamed over the old one)."""
    tmp = link.with_name(f".{link.name}.tmp{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _generation(out_dir: Path) -> str | None:
    current = out_dir / "current"
    return os.readlink(current) if current.is_symlink() else None


def _adopt_legacy(out_dir: Path) -> None:
    """Move outputs written as plain files (before generations existed) into a generation."""
    plain = [n for n in OUTPUT_NAMES if (out_dir / n).exists() and not (out_dir / n).is_symlink()]
    if not plain or _generation(out_dir):
        return
    gen = out_dir / f".gen-legacy-{uuid.uuid4().hex[:8]}"
    gen.mkdir()
    for name in plain:  # one-time migration: a kill here leaves the outputs in the generation
        os.replace(out_dir / name, gen / name)
    _symlink(gen.name, out_dir / "current")


def _clear_leftovers(out_dir: Path, keep: set[str]) -> None:
    """Remove what killed runs left: unpublished generations and temporary files."""
    for path in out_dir.iterdir():
        name = path.name
        if name in keep:
            continue
        if name.startswith((".gen-", ".staging-")) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif ".tmp" in name and name.startswith("."):
            path.unlink(missing_ok=True)


def _publish(out_dir: Path, gen: Path) -> str | None:
    """Make ``gen`` the current outputs with one atomic rename; returns the previous one."""
    previous = _generation(out_dir)
    _symlink(gen.name, out_dir / "current")
    for name in OUTPUT_NAMES:
        link = out_dir / name
        if not (link.is_symlink() and os.readlink(link) == f"current/{name}"):
            _symlink(f"current/{name}", link)
    return previous


def build(data_dir: Path | str = DEFAULT_DATA, out_dir: Path | str = DEFAULT_OUT, *,
          validate: bool = True, workers: int | None = None,
          progress: Callable[[int, int], None] | None = None) -> BuildReport:
    """Build the graph of ``data_dir`` into ``out_dir``.

    Writes ``kg.trig``, ``kg.nq``, a persistent store ``store/`` and ``summary.json`` into a new
    generation directory, and publishes it by renaming one symlink (``current``): the names in
    ``out_dir`` are symlinks through it, so readers see the old outputs or the new ones, never a
    mix, whenever the build is stopped. The previous generation is kept (a running ``kg serve``
    may still read it); older ones and leftovers of killed builds are removed.

    ``workers``: processes that read the articles and make and serialize their quads, by
    batches of :data:`LOAD_BATCH` (see :func:`load_corpus`), while this process loads the
    store; by default one per CPU for a corpus of more than one batch. The outputs do not
    depend on it.

    ``progress``, if given, is called as ``progress(done, total)`` each time a batch of
    articles has been read, checked and made into quads and handed to the store (``done`` of
    the ``total`` articles): a build of 100k articles takes minutes. The store's last loads and
    its compaction follow the last call.

    Raises
    ------
    KGError
        Any invalid input (naming the file and the item) or a shape violation; the previous
        outputs are untouched. :class:`StoreBusy` when another build, add or remove is running.
    """
    out_dir, data_dir = Path(out_dir), Path(data_dir)
    registry, save_cache = cached_registry(data_dir / "entities", data_dir / "wikidata.tsv",
                                           out_dir, use_cache=False)
    stems = _article_stems(data_dir)
    if workers is None:
        workers = default_workers(len(stems))
    batches = _batches(stems)
    with _encoded_corpus(data_dir, registry, batches, validate=validate,
                         workers=workers) as parts, exclusive(out_dir):
        _adopt_legacy(out_dir)
        current = _generation(out_dir)
        _clear_leftovers(out_dir, {current} if current else set())
        gen = out_dir / f".gen-{uuid.uuid4().hex[:12]}"
        gen.mkdir()
        try:
            with Store(gen / "store") as store:  # closed before it is published
                # Nobody reads a new generation until it is published, and it is thrown away
                # if anything fails: the bulk loader's lack of atomicity is safe here, and its
                # bounded memory is needed (one transaction held every quad in memory: 13.7 GB
                # at 100k articles). The two files are written from the bytes the store loads,
                # not dumped afterwards; the workers make and serialize the quads, this process
                # only loads. The facts' outlets and the actors' claim counts are gathered as
                # the parts go by; their quads come last.
                # No load is more than an eighth of the store (the articles' expected quads,
                # then what they held): at 10k articles, loads of up to 1M quads took the
                # build's peak RSS to 512-516 MB, an eighth to 363-399 MB and no more time;
                # at 100k (an eighth: 750k quads) 1.77-1.96 GB against 2.16-2.18, 120-131 s
                # against 128-140. Past 4M quads, the rest go to one load (Store.load_encoded).
                facts: dict = {}
                counts: Counter = Counter()
                # The facts' outlets pile up here, a tuple and a set per fact, none in a
                # cycle: full collections walked them again and again (100k articles: 3.4 s
                # of this process's time; kg.memory). The workers are already forked.
                with _new_files(gen, ("kg.trig", "kg.nq")) as files, paused_gc():
                    write_to = {"trig": files["kg.trig"], "nq": files["kg.nq"]}
                    taken = _gathering(parts, facts, counts)
                    if progress is not None:
                        taken = _reporting(taken, [len(b) for b in batches], progress)
                    # The facts, made once the last article's part is taken, follow the
                    # articles in the files and go to a load of their own, beside the end of
                    # the articles' (Store.load_encoded's tail).
                    triples = store.load_encoded(
                        taken, write_to=write_to, expected_parts=1 + len(batches),
                        tail=lambda: derive.encoded_facts(facts, counts))
                store.flush()
                # the loads leave many files; compacted, lookups ~2x faster. RocksDB compacts
                # on one thread, so the summary is counted meanwhile, on the other core, and
                # the registry's cache written (for `kg add`, which then need not read every
                # entity file; a build's last 0.4 s)
                with ThreadPoolExecutor(max_workers=1) as beside:
                    counted = beside.submit(summarize, store, triples=triples)
                    cached = beside.submit(save_cache or (lambda: None))
                    store.optimize()
                    report = counted.result()
            report.outputs = [str(out_dir / n) for n in OUTPUT_NAMES]
            summary = gen / "summary.json"
            summary.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
            _fsync_tree(gen)
        except BaseException:
            shutil.rmtree(gen, ignore_errors=True)
            raise
        previous = _publish(out_dir, gen)
        _clear_leftovers(out_dir, {gen.name} | ({previous} if previous else set()))
        cached.result()  # a cache that could not be written: said once the build is published
        return report


def _gathering(parts, facts: dict, counts: Counter):
    """The :class:`Encoded` parts of ``parts``, merging each one's facts into ``facts`` and
    adding its actors' claim counts to ``counts``."""
    for part, found, mentioned in parts:
        derive.merge(facts, found)
        counts.update(mentioned)
        yield part


def _reporting(parts, sizes: list[int], progress: Callable[[int, int], None]):
    """``parts`` (the registry's and ontology's, then one per batch of ``sizes`` articles),
    calling ``progress(done, total)`` once each batch's part has been taken."""
    done, total = 0, sum(sizes)
    parts = iter(parts)
    yield next(parts)  # the registry and the ontology: no article
    for part, size in zip(parts, sizes, strict=True):
        yield part
        done += size
        progress(done, total)


@contextmanager
def _new_files(directory: Path, names):
    """Binary files written under temporary names in ``directory``, renamed into place when
    the block succeeds (a killed build never leaves a truncated file under its real name)."""
    tmp = {name: directory / f".{name}.tmp{os.getpid()}" for name in names}
    handles = {}
    try:
        for name, path in tmp.items():
            handles[name] = open(path, "wb")  # noqa: SIM115 - closed below
        yield handles
        for handle in handles.values():
            handle.close()
        for name, path in tmp.items():
            os.replace(path, directory / name)
    finally:
        for handle in handles.values():
            handle.close()
        for path in tmp.values():
            path.unlink(missing_ok=True)


def _fsync_tree(directory: Path) -> None:
    """Flush a generation to disk before it is published, so a crash cannot publish holes."""
    for root, _dirs, files in os.walk(directory):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _entities_used(corpus: Corpus, stem: str) -> set[str]:
    """Registry keys an article's claims and metadata refer to, with their part_of ancestors."""
    from .claims import Source
    from .entities import Entity

    keys = {corpus.articles[stem].outlet}
    cset = corpus.claim_sets.get(stem)

    def visit(value):
        if isinstance(value, Entity):
            keys.add(value.key)
        elif isinstance(value, Source) and value.affiliation is not None:
            keys.add(value.affiliation.key)
        elif isinstance(value, (tuple, list)):
            for v in value:
                visit(v)

    for src in (cset.sources.values() if cset else ()):
        visit(src)
    for claim in (cset.claims if cset else ()):
        visit(claim.according_to)
        for value in claim.fact.values():
            visit(value)
    todo = list(keys)
    while todo:
        parent = corpus.registry[todo.pop()].part_of
        if parent and parent not in keys:
            keys.add(parent)
            todo.append(parent)
    return keys


def add_article(stem: str, data_dir: Path | str = DEFAULT_DATA,
                store_dir: Path | str = DEFAULT_OUT / "store", *, validate: bool = True) -> dict:
    """Add one article (or replace it, if loaded before) in a persistent store, without a rebuild.

    The article's text, metadata and claims are read from ``data_dir`` and checked exactly as in
    a build; its old graphs are dropped and the new ones inserted in one atomic update, together
    with the registry entries its claims use and the recount of the facts its claims assert
    (:func:`kg.derive.replace_article`). Only this article's files are read (and those of
    articles its disputes name); names are looked up in the registry cache kept beside the
    store (``kg.entities.cached_registry``), which is rebuilt when an entity file changed. The
    cost does not grow with the corpus. :func:`add_articles` adds several at once.

    Returns
    -------
    dict
        ``article`` (the stem), ``claims`` (its claims), ``quads`` (the quads it contributes,
        registry entries aside), ``graphs_added`` / ``graphs_removed`` (its graphs that are new
        / that went, an edited claim counting in both), ``store_change`` (how many quads the
        store holds now minus before: the article's graphs, the registry entries it added and
        the change in fact nodes, :mod:`kg.derive`).

    Raises
    ------
    KGError
        Invalid input (naming the file and item), a shape violation, or :class:`StoreBusy` when
        another process is writing; the store is unchanged in every case.
    """
    done = add_articles([stem], data_dir, store_dir, validate=validate)
    return dict(done["articles"][0], store_change=done["store_change"])


def add_articles(stems, data_dir: Path | str = DEFAULT_DATA,
                 store_dir: Path | str = DEFAULT_OUT / "store", *, validate: bool = True) -> dict:
    """Add (or replace) several articles in a persistent store as one atomic update.

    Each article is read and checked as by :func:`add_article`, all of them before the store is
    touched; then the store is opened, updated and flushed once for all (opening and flushing
    are most of the cost of adding one article). Either every article goes in or none does. A
    stem given twice counts once.

    Returns
    -------
    dict
        ``articles``: one dict per article, in the order given, as :func:`add_article` returns
        without ``store_change``; ``store_change``: how many quads the store holds now minus
        before.

    Raises
    ------
    KGError
        As :func:`add_article`, naming the first article found invalid; the store is unchanged.
    ValueError
        No stem given.
    """
    stems = list(dict.fromkeys(stems))
    if not stems:
        raise ValueError("no article to add")
    store_dir, data_dir = Path(store_dir), Path(data_dir)
    require_store(store_dir)
    out_dir = store_dir.parent
    registry, save_cache = cached_registry(data_dir / "entities", data_dir / "wikidata.tsv",
                                           out_dir)
    corpus = load_corpus(data_dir, only=stems, registry=registry)
    bundles, used, entities = {}, {}, {}
    for stem in stems:
        bundles[stem] = article_bundle(corpus, stem)
        used[stem] = _used(corpus, stem)
        entities.update(dict.fromkeys(used[stem]))
    if validate:
        validate_bundles((used[stem] + bundles[stem], corpus.articles[stem].path, stem)
                         for stem in stems)
    also = list(entities)
    with _writing(store_dir) as store:
        if save_cache is not None:
            save_cache()
        before = {stem: {str(g) for g in store.graphs_of_article(stem) if store.has_graph(g)}
                  for stem in stems}
        graphs = set().union(*before.values()) | {str(q[3]) for b in bundles.values()
                                                  for q in b}
        size = store.count_quads(graphs) + store.count_present(also)
        facts = derive.replace_articles(store, bundles, also=also)
        store.flush()
        after = {stem: set(map(str, store.graphs_of_article(stem))) for stem in stems}
        change = store.count_quads(graphs) + store.count_present(also) - size + facts
    articles = [{"article": stem,
                 "claims": len(corpus.claim_sets[stem].claims) if stem in corpus.claim_sets
                 else 0,
                 "graphs_removed": len(before[stem] - after[stem]),
                 "graphs_added": len(after[stem] - before[stem]),
                 "quads": len(bundles[stem])} for stem in stems]
    return {"articles": articles, "store_change": change}


def remove_article(stem: str, store_dir: Path | str = DEFAULT_OUT / "store") -> int:
    """Take one article and all its claims out of a persistent store; returns graphs removed.

    Raises
    ------
    ArticleError
        The store holds no such article.
    StoreError
        ``store_dir`` is not a store (nothing is created there).
    """
    return remove_articles([stem], store_dir)[stem]


def remove_articles(stems, store_dir: Path | str = DEFAULT_OUT / "store") -> dict[str, int]:
    """Take several articles out of a persistent store in one atomic update; returns how many
    graphs went for each stem. A stem given twice counts once.

    Raises
    ------
    ArticleError
        The store holds no article of one of the stems (the first one found); nothing is
        removed.
    StoreError
        ``store_dir`` is not a store (nothing is created there).
    ValueError
        No stem given.
    """
    stems = list(dict.fromkeys(stems))
    if not stems:
        raise ValueError("no article to remove")
    with _writing(store_dir) as store:
        for stem in stems:
            if not any(store.has_graph(g) for g in store.graphs_of_article(stem)):
                raise ArticleError("the store holds no such article", file=store_dir, item=stem)
        removed = derive.remove_articles(store, stems)
        store.flush()
    return removed


def optimize(store_dir: Path | str = DEFAULT_OUT / "store") -> None:
    """Compact a persistent store (see :meth:`kg.store.Store.optimize`). Each ``kg add`` or
    ``kg remove`` leaves files that every later lookup also reads (ten adds at 100k articles
    made questions about twice as slow); this folds them in. Takes the store's lock, like an
    add, so it never runs alongside one.

    Raises
    ------
    StoreBusy
        A build, add or remove is running.
    StoreError
        ``store_dir`` is not a store.
    """
    with _writing(store_dir) as store:
        store.optimize()


def rederive(store_dir: Path | str = DEFAULT_OUT / "store") -> int:
    """Recount the derived facts of a persistent store (:func:`kg.derive.rebuild`) and compact
    it; returns how many facts there are.

    For a store whose facts an older kg counted (:class:`~kg.errors.StaleStore`): its articles
    stay as they are; the facts graph is recounted from the claims in the store by this kg's
    rules and only what differs is written (100k articles: 95 s, where a build takes 189 s).
    Takes the store's lock, like an add.

    Raises
    ------
    StoreBusy
        A build, add or remove is running.
    StoreError
        ``store_dir`` is not a store.
    """
    with _writing(store_dir) as store:
        facts = derive.rebuild(store)
        store.flush()
        store.optimize()
    return facts


def import_file(path: Path | str, graph_iri: str,
                store_dir: Path | str = DEFAULT_OUT / "store", *, fmt: str | None = None) -> int:
    """Add the triples of your own RDF file into one named graph of a persistent store (see
    :func:`kg.rdfimport.import_rdf`, which parses it in a sandboxed process); returns how many
    triples the file held. Takes the store's lock, like an add.

    Raises
    ------
    InputError
        The file is refused or invalid (naming it); nothing is added.
    StoreBusy
        A build, add or remove is running.
    StoreError
        ``store_dir`` is not a store (nothing is created there).
    """
    from .rdfimport import import_rdf

    with _writing(store_dir) as store:
        return import_rdf(path, store, graph_iri, fmt=fmt)


def export(store_dir: Path | str = DEFAULT_OUT / "store", out_dir: Path | str = DEFAULT_OUT
           ) -> BuildReport:
    """Write ``kg.trig``, ``kg.nq`` and ``summary.json`` from a store (after adds and removes)."""
    out_dir = Path(out_dir)
    store = derive.open_current(store_dir)  # files beside it must not spread stale counts
    # write through the output symlinks into the current generation, beside its store
    target = {n: Path(os.path.realpath(out_dir / n)) for n in ("kg.trig", "kg.nq", "summary.json")}
    store.dump(target["kg.trig"], "trig")
    store.dump(target["kg.nq"], "nq")
    report = summarize(store)
    report.outputs = [str(out_dir / n) for n in ("kg.trig", "kg.nq", "summary.json")]
    summary = (json.dumps(report.as_dict(), indent=2) + "\n").encode()
    write_atomic(target["summary.json"], lambda out: out.write(summary))
    return report
