"""Issue 5: a build asks the kernel to read each batch's files before its worker gets there
(`kg.fsio.ReadAhead`), a few batches ahead and no more, and never blocks or fails on a file
that is not a plain one: the worker reports what is wrong with it."""

from __future__ import annotations

import os
import threading
import time

import pytest

from kg import fsio, pipeline
from kg.pipeline import build

from .conftest import DATA


def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture()
def advised(monkeypatch):
    """The paths the read-ahead thread asks for, in order (nothing asked of the kernel)."""
    seen: list[str] = []
    monkeypatch.setattr(fsio, "_advise", lambda path, max_bytes: seen.append(path))
    return seen


def test_it_reads_no_further_than_it_is_allowed_ahead(advised):
    groups = [[f"g{i}/a", f"g{i}/b"] for i in range(6)]
    with fsio.ReadAhead(groups, ahead=2) as ahead:
        _until(lambda: ahead.groups_read == 2)
        time.sleep(0.05)  # room to go too far, if it would
        assert advised == ["g0/a", "g0/b", "g1/a", "g1/b"]
        ahead.reached(1)  # group 1 handed out: groups 2 and 3 may be read
        _until(lambda: ahead.groups_read == 4)
        time.sleep(0.05)
        assert ahead.groups_read == 4
        ahead.reached(5)
        _until(lambda: ahead.groups_read == 6)
    assert advised == [path for group in groups for path in group]


def test_closing_stops_a_thread_that_waits_and_consumes_no_more_groups(advised):
    taken = []

    def groups():
        for i in range(100):
            taken.append(i)
            yield [f"g{i}"]

    ahead = fsio.ReadAhead(groups(), ahead=1)
    _until(lambda: ahead.groups_read == 1)
    started = time.monotonic()
    ahead.close()
    assert time.monotonic() - started < 1
    assert not ahead._thread.is_alive()
    assert taken == [0, 1] and advised == ["g0"]


def test_files_that_are_not_plain_are_passed_over_without_blocking(tmp_path):
    """A FIFO would block an open for reading until a writer came; a directory, a dangling
    link or a missing file are the worker's to report. None stops the thread."""
    plain = tmp_path / "plain.txt"
    plain.write_text("words")
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    (tmp_path / "dir.txt").mkdir()
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere")
    paths = [fifo, tmp_path / "dir.txt", tmp_path / "dangling.txt", tmp_path / "missing.txt",
             plain]
    done = threading.Event()
    thread = threading.Thread(target=lambda: ([fsio._advise(str(p), 100) for p in paths],
                                              done.set()), daemon=True)
    thread.start()
    assert done.wait(5), "advising a FIFO blocked"
    with fsio.ReadAhead([paths], ahead=1) as ahead:
        _until(lambda: ahead.groups_read == 1)


def test_a_parallel_build_reads_each_batch_ahead_in_order(advised, tmp_path, monkeypatch):
    """Every article's text, metadata and claims are asked for, in the order the workers read
    them; the build's outputs do not depend on it (test_a_parallel_build_writes_the_same_bytes
    runs with it)."""
    monkeypatch.setattr(pipeline, "LOAD_BATCH", 1)
    build(DATA, tmp_path, validate=False, workers=2)
    stems = sorted(p.name[:-4] for p in (DATA / "articles").glob("*.txt"))
    assert advised == [f"{DATA}/{folder}/{stem}{suffix}" for stem in stems
                       for folder, suffix in (("articles", ".txt"), ("articles", ".yaml"),
                                              ("claims", ".yaml"))]
    assert all(os.path.exists(path) for path in advised)


def test_the_files_read_ahead_are_those_each_article_is_read_from(monkeypatch):
    """One place names an article's files (kg.articles.article_files): the text and metadata
    an article is read from, and the claim file read with it, are the files read ahead."""
    from kg.articles import article_files, load_article

    opened = []
    monkeypatch.setattr(pipeline, "load_claim_file", lambda path, *_: opened.append(str(path)))
    registry = pipeline.load_registry(DATA / "entities", DATA / "wikidata.tsv")
    for name in sorted(os.listdir(DATA / "articles")):
        if name.endswith(".txt"):
            text, meta, claims = article_files(DATA, name[:-4])
            article = load_article(text)
            assert (str(article.path), str(article.meta_path)) == (text, meta)
            pipeline._read_claims(DATA, registry, article)
            assert opened[-1] == claims


def test_a_build_in_one_process_reads_nothing_ahead(advised, tmp_path):
    build(DATA, tmp_path, validate=False, workers=0)
    assert advised == []


def test_only_plain_files_within_the_bound_are_asked_for(tmp_path, monkeypatch):
    """A file over the readers' bound (a link to a large file elsewhere, say) is refused by its
    reader unread: the kernel is not asked to read it either."""
    asked = []
    monkeypatch.setattr(os, "posix_fadvise",
                        lambda fd, offset, length, advice: asked.append(os.fstat(fd).st_size))
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    small.write_bytes(b"x" * 100)
    with open(large, "wb") as handle:
        handle.truncate(101)
    (tmp_path / "dir.txt").mkdir()
    for path in (small, large, tmp_path / "dir.txt"):
        fsio._advise(str(path), 100)
    assert asked == [100]
