"""Stage 1: articles. Reads each article's text and metadata and checks they belong together.

An article is the text file exactly as received (offsets into it are the provenance anchors) plus
a metadata file beside it. The text is decoded as UTF-8 and never altered: positions are counted
in Unicode code points of that decoded text, the unit the Web Annotation model uses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ArticleError
from .fsio import names_ending, read_bounded
from .yamlio import read_yaml

__all__ = ["Article", "MetadataNote", "load_article", "load_articles", "article_paths",
           "article_files", "corpus_stems", "MAX_TEXT_BYTES", "STEM_PATTERN"]

_METHODS = ("stated", "inferred", "curated")
_NOTE_FIELDS = ("outlet", "published", "headline")
_META_FIELDS = ("sha256", "outlet", "published", "headline", "notes", "furniture")

#: Article texts larger than this are refused unread (a news report is a few kilobytes).
MAX_TEXT_BYTES = 8 * 1024 * 1024
#: What an article's file stem may be made of: it becomes part of IRIs.
STEM_PATTERN = re.compile(r"\w[\w.~-]*")
# A corpus folder: articles/<stem>.txt, the metadata beside it (articles/<stem>.yaml), and the
# claims drawn from it in claims/<stem>.yaml. Every path of the layout is made from these.
_ARTICLES, _CLAIMS, _TEXT, _YAML = "articles", "claims", ".txt", ".yaml"


@dataclass(frozen=True)
class MetadataNote:
    """How one piece of metadata (``field``) was established."""

    field: str
    method: str
    evidence: str


@dataclass(frozen=True)
class Article:
    """One article: its text and what is known about it.

    ``furniture`` holds the (start, end) spans of page text that is not part of the report.
    """

    stem: str
    path: Path
    text: str
    sha256: str
    outlet: str
    published: dt.date
    headline: str | None
    notes: tuple[MetadataNote, ...]
    furniture: tuple[tuple[int, int], ...] = field(default=())
    meta_path: Path | None = None


def article_paths(articles_dir: Path) -> list[Path]:
    """The article text files in a directory, in a stable order."""
    articles_dir = Path(articles_dir)
    return [articles_dir / name for name in names_ending(articles_dir, _TEXT)]


def corpus_stems(data_dir: Path | str) -> tuple[list[str], list[str]]:
    """The stems of the corpus folder ``data_dir``'s article texts and of its claim files,
    each sorted: names only (a build lists 100k articles; a path made for each cost 1 s).

    Examples
    --------
    >>> import tempfile
    >>> data = Path(tempfile.mkdtemp())
    >>> for name in ("articles/a-b.txt", "articles/a.txt", "articles/a.yaml", "claims/a.yaml"):
    ...     (data / name).parent.mkdir(exist_ok=True)
    ...     _ = (data / name).write_text("")
    >>> corpus_stems(data)
    (['a', 'a-b'], ['a'])
    """
    data_dir = Path(data_dir)
    # sorted again as stems: "a-b.txt" sorts before "a.txt", but "a" before "a-b"
    return (sorted(name[:-len(_TEXT)] for name in names_ending(data_dir / _ARTICLES, _TEXT)),
            sorted(name[:-len(_YAML)] for name in names_ending(data_dir / _CLAIMS, _YAML)))


def article_files(data_dir: Path | str, stem: str) -> tuple[str, str, str]:
    """Where the corpus folder ``data_dir`` keeps the article ``stem``: its text, its metadata
    (beside the text, where :func:`load_article` reads it) and its claims. Strings: a build
    lists them for every article, ahead of the workers (:class:`kg.fsio.ReadAhead`).

    Examples
    --------
    >>> article_files("data", "nk")
    ('data/articles/nk.txt', 'data/articles/nk.yaml', 'data/claims/nk.yaml')
    """
    base = str(data_dir)
    return (f"{base}/{_ARTICLES}/{stem}{_TEXT}", f"{base}/{_ARTICLES}/{stem}{_YAML}",
            f"{base}/{_CLAIMS}/{stem}{_YAML}")


def _spans(text: str, needle: str) -> list[tuple[int, int]]:
    spans, start = [], text.find(needle)
    while start != -1:
        spans.append((start, start + len(needle)))
        start = text.find(needle, start + 1)
    return spans


def load_article(text_path: Path | str) -> Article:
    """Read one article text and its metadata file (same stem, ``.yaml``).

    Raises
    ------
    ArticleError
        The text is missing, not a regular file, over :data:`MAX_TEXT_BYTES` or not UTF-8, its
        file name is not fit for an IRI (:data:`STEM_PATTERN`), its SHA-256 differs from the
        metadata's, or the metadata is malformed (an unknown field, unknown note method, bad date,
        furniture that is not a list of strings found in the text).
    """
    text_path = Path(text_path)
    meta_path = text_path.with_suffix(_YAML)
    if not STEM_PATTERN.fullmatch(text_path.stem):
        raise ArticleError("an article's file name must start with a letter or digit and hold "
                           "only letters, digits and '-', '_', '.', '~' (it becomes part of IRIs)",
                           file=text_path)
    raw = read_bounded(text_path, MAX_TEXT_BYTES, ArticleError, what="article")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"article is not UTF-8 (byte {exc.start})", file=text_path) from None
    if not meta_path.exists():
        raise ArticleError("article has no metadata file beside it", file=meta_path)
    meta = read_yaml(meta_path, ArticleError)
    if not isinstance(meta, dict):
        raise ArticleError("metadata must be a mapping", file=meta_path)
    extra = set(meta) - set(_META_FIELDS)
    if extra:
        raise ArticleError(f"unknown field(s): {', '.join(sorted(map(str, extra)))}; metadata has "
                           f"{', '.join(_META_FIELDS)}", file=meta_path)

    def need(key, kind):
        if key not in meta:
            raise ArticleError(f"metadata lacks '{key}'", file=meta_path, item=key)
        value = meta[key]
        if kind is not None and not isinstance(value, kind):
            raise ArticleError(f"'{key}' must be {kind.__name__}", file=meta_path, item=key)
        return value

    sha = hashlib.sha256(raw).hexdigest()
    declared = need("sha256", str)
    if declared != sha:
        raise ArticleError(f"text differs from the one described (sha256 {sha[:12]}…, metadata "
                           f"says {declared[:12]}…): articles are kept byte for byte",
                           file=text_path, item="sha256")
    outlet = need("outlet", str)
    published = need("published", None)
    if isinstance(published, str):
        try:
            published = dt.date.fromisoformat(published)
        except ValueError:
            raise ArticleError(f"'published' is not a date: {published!r}", file=meta_path,
                               item="published") from None
    if not isinstance(published, dt.date) or isinstance(published, dt.datetime):
        raise ArticleError("'published' must be a date (YYYY-MM-DD)", file=meta_path,
                           item="published")
    headline = meta.get("headline")
    if headline is not None and (not isinstance(headline, str) or headline not in text):
        raise ArticleError("headline must be null or a verbatim line of the text",
                           file=meta_path, item="headline")
    notes = []
    raw_notes = meta.get("notes") or {}
    if not isinstance(raw_notes, dict):
        raise ArticleError("'notes' must be a mapping of field to note", file=meta_path,
                           item="notes")
    for name, note in raw_notes.items():
        if name not in _NOTE_FIELDS or not isinstance(note, dict):
            raise ArticleError(f"unknown metadata note '{name}'", file=meta_path, item=str(name))
        if note.get("method") not in _METHODS or not isinstance(note.get("evidence"), str):
            raise ArticleError(f"note needs method ({', '.join(sorted(_METHODS))}) and evidence",
                               file=meta_path, item=f"notes.{name}")
        notes.append(MetadataNote(name, note["method"], note["evidence"]))
    notes.sort(key=lambda n: n.field)
    furniture = []
    raw_furniture = meta.get("furniture") or []
    if not isinstance(raw_furniture, list):
        raise ArticleError("'furniture' must be a list of verbatim strings of the text",
                           file=meta_path, item="furniture")
    for piece in raw_furniture:
        spans = _spans(text, piece) if isinstance(piece, str) and piece else []
        if not spans:
            raise ArticleError(f"furniture not found in the text: {str(piece)[:60]!r}",
                               file=meta_path, item="furniture")
        furniture.extend(spans)
    return Article(stem=text_path.stem, path=text_path, text=text, sha256=sha, outlet=outlet,
                   published=published, headline=headline, notes=tuple(notes),
                   furniture=tuple(sorted(furniture)), meta_path=meta_path)


def load_articles(articles_dir: Path | str) -> list[Article]:
    """Every article in ``articles_dir``, sorted by stem."""
    return [load_article(p) for p in article_paths(Path(articles_dir))]
