"""The entity registry: one key per actor, place, meeting, pledge, topic and measure.

Entity resolution happens here and only here: a claim names an entity by its key, its label or
any alias ("Pompeo", "Secretary of State Mike Pompeo", "the U.S. top diplomat"), and the
:class:`Registry` returns the one entity meant, looking only among the kinds the field accepts.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import AmbiguousEntity, EntityError, UnknownEntity
from .iris import category, normalize_text
from .yamlio import read_yaml

__all__ = ["Entity", "Registry", "IndexedRegistry", "load_registry", "cached_registry",
           "ACTOR_KINDS", "MEETING_KINDS", "KINDS", "name_key", "KEY_PATTERN", "REGISTRY_CACHE"]

ACTOR_KINDS = frozenset({"person", "state", "government", "ministry", "agency", "military",
                         "organization", "outlet"})
MEETING_KINDS = frozenset({"meeting", "summit", "talks", "visit", "ceremony"})
KINDS = ACTOR_KINDS | MEETING_KINDS | {"place", "incident", "pledge", "agreement", "topic",
                                       "measure"}
_FIELDS = {"kind", "label", "aliases", "wikidata", "part_of"}
#: What a registry key (and an article's local source key) may be made of: it becomes part of an
#: IRI, so letters, digits and ``-_.~`` only, starting with a letter or digit.
KEY_PATTERN = re.compile(r"\w[\w.~-]*")
_QID = re.compile(r"Q[1-9][0-9]*")


@dataclass(frozen=True)
class Entity:
    key: str
    kind: str
    label: str
    aliases: tuple[str, ...] = ()
    wikidata: str | None = None
    part_of: str | None = None
    file: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.key, self.label, *self.aliases)


def name_key(name: str) -> str:
    """How names are compared: normalised text without a leading article.

    >>> name_key("The  Pentagon") == name_key("pentagon")
    True
    """
    folded = normalize_text(name)
    return folded[4:] if folded.startswith("the ") else folded


class Registry:
    """All entities, with lookup by key and by name."""

    def __init__(self, entities):
        self.entities: dict[str, Entity] = {}
        self._by_name: dict[str, set[str]] = {}
        for ent in entities:
            if ent.key in self.entities:
                other = self.entities[ent.key].file
                raise EntityError(f"key defined twice (also in {other})", file=ent.file,
                                  item=ent.key)
            self.entities[ent.key] = ent
            for name in ent.names:
                self._by_name.setdefault(name_key(name), set()).add(ent.key)
        for ent in self.entities.values():
            if ent.part_of is not None:
                parent = self.entities.get(ent.part_of)
                if parent is None:
                    raise UnknownEntity(f"part_of names unknown entity '{ent.part_of}'",
                                        file=ent.file, item=ent.key)
                if (ent.kind in ACTOR_KINDS) != (parent.kind in ACTOR_KINDS):
                    raise EntityError(f"part_of links a {ent.kind} to a {parent.kind}",
                                      file=ent.file, item=ent.key)
        for ent in self.entities.values():
            chain, key = [ent.key], ent.part_of
            while key is not None:
                if key in chain:
                    raise EntityError(f"part_of goes round in a circle: "
                                      f"{' -> '.join(chain + [key])}", file=ent.file,
                                      item=ent.key)
                chain.append(key)
                key = self.entities[key].part_of

    def __len__(self):
        return len(self.entities)

    def __iter__(self):
        return iter(self.entities.values())

    def __getitem__(self, key: str) -> Entity:
        return self.entities[key]

    def candidates(self, name: str, kinds=None) -> list[Entity]:
        """Entities whose key, label or alias matches ``name``, optionally only of ``kinds``."""
        keys = self._by_name.get(name_key(name), set())
        found = [self.entities[k] for k in sorted(keys)]
        return [e for e in found if kinds is None or e.kind in kinds]

    def resolve(self, name, kinds=None, *, file=None, item=None) -> Entity:
        """The one entity ``name`` means among ``kinds``.

        Raises
        ------
        UnknownEntity
            No entity of those kinds has that name; similar names are offered as candidates.
        AmbiguousEntity
            Several do; all are listed.
        """
        if not isinstance(name, str) or not name.strip():
            raise UnknownEntity(f"expected an entity name, got {name!r}", file=file, item=item)
        found = self.candidates(name, kinds)
        if len(found) == 1:
            return found[0]
        if found:
            listing = ", ".join(f"{e.key} ({e.kind})" for e in found)
            raise AmbiguousEntity(f"'{name}' could be any of: {listing}", candidates=found,
                                  file=file, item=item)
        wanted = " or ".join(sorted(kinds)) if kinds else "entity"
        other = self.candidates(name)
        if other:
            hint = "; it names " + ", ".join(f"{e.key} ({e.kind})" for e in other)
        else:
            needle = name_key(name)
            near = sorted({e.key for e in self if (kinds is None or e.kind in kinds)
                           and any(needle in name_key(n) or name_key(n) in needle
                                   for n in e.names if len(name_key(n)) > 2)})[:8]
            other = [self[k] for k in near]
            hint = f"; did you mean: {', '.join(near)}" if near else ""
        raise UnknownEntity(f"no {wanted} is called '{name}'{hint}", candidates=other,
                            file=file, item=item)


def _wikidata_ids(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EntityError(f"cannot read the verified Wikidata list: {exc}", file=path) from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t")
    if not {"label", "wikidata"} <= set(reader.fieldnames or ()):
        raise EntityError("the verified Wikidata list needs a header with 'label' and 'wikidata' "
                          "columns", file=path)
    return {row["wikidata"]: row["label"] for row in reader
            if isinstance(row["wikidata"], str) and isinstance(row["label"], str)}


def load_registry(entities_dir: Path | str, wikidata_tsv: Path | str | None = None) -> Registry:
    """Read every ``*.yaml`` in ``entities_dir`` into one :class:`Registry`.

    A ``wikidata`` id must appear in ``wikidata_tsv`` (verified identifiers); none is guessed.

    Raises
    ------
    EntityError
        A malformed entry, a key unfit for an IRI (:data:`KEY_PATTERN`), an unknown kind or
        field, a duplicate key, a ``part_of`` cycle, an unverified Wikidata id, or an unreadable
        ``wikidata_tsv``.
    """
    entities_dir = Path(entities_dir)
    verified = _wikidata_ids(Path(wikidata_tsv)) if wikidata_tsv else {}
    found = []
    for path in sorted(entities_dir.glob("*.yaml")):
        doc = read_yaml(path, EntityError) or {}
        if not isinstance(doc, dict):
            raise EntityError("an entity file must be a mapping of key to entity", file=path)
        for key, body in doc.items():
            item = str(key)
            if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
                raise EntityError("an entity key must be one word of letters, digits and '-', "
                                  "'_', '.', '~' (it becomes part of an IRI)", file=path,
                                  item=item)
            if not isinstance(body, dict):
                raise EntityError("entity must be a mapping", file=path, item=item)
            extra = set(body) - _FIELDS
            if extra:
                raise EntityError(f"unknown field(s): {', '.join(sorted(map(str, extra)))}",
                                  file=path, item=item)
            kind = body.get("kind")
            if not isinstance(kind, str) or kind not in KINDS:
                raise EntityError(f"kind must be one of {', '.join(sorted(KINDS))}, not {kind!r}",
                                  file=path, item=item)
            category(kind)
            label = body.get("label")
            if not isinstance(label, str) or not label.strip():
                raise EntityError("entity needs a label", file=path, item=item)
            aliases = body.get("aliases") or []
            if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip()
                                                        for a in aliases):
                raise EntityError("aliases must be a list of names", file=path, item=item)
            qid = body.get("wikidata")
            if qid is not None:
                if not isinstance(qid, str) or not _QID.fullmatch(qid):
                    raise EntityError(f"wikidata must be an id like Q42, not {qid!r}", file=path,
                                      item=item)
                if wikidata_tsv is None or qid not in verified:
                    raise EntityError(f"Wikidata id {qid} is not in the verified list "
                                      f"({wikidata_tsv}); leave it out rather than guess",
                                      file=path, item=item)
            part_of = body.get("part_of")
            if part_of is not None and not isinstance(part_of, str):
                raise EntityError("part_of must be an entity key", file=path, item=item)
            found.append(Entity(key, kind, label.strip(), tuple(aliases), qid, part_of,
                                str(path)))
    return Registry(found)


# --- the registry cache -----------------------------------------------------------------------
#
# Parsing and checking the entity files costs seconds at tens of thousands of entities (2.7 s for
# 22,751), far more than adding one article. After a build (or an add) the checked registry is
# kept in an SQLite file beside the store; an add then looks up only the names its article uses
# (a few indexed queries) instead of reading every entity. SQLite rather than pickle: reading it
# runs no code from the file, whoever wrote it. The file is only ever replaced whole (written
# under a temporary name, flushed, renamed), never changed in place, so it is opened immutable.

#: The cache's file name, in the output directory (beside ``store/``).
REGISTRY_CACHE = ".registry-cache.sqlite"
_CACHE_FORMAT = 1
#: A file changed less than this long before the fingerprint was taken may change again within
#: the same timestamp tick, unseen: such a registry is used but not cached.
_RACY_NS = 2_000_000_000
_CODE = (Path(__file__), Path(__file__).with_name("iris.py"))  # validation and name folding


def _stat(path: Path) -> list | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _fingerprint(entities_dir: Path, wikidata_tsv: Path | None) -> tuple[str, bool]:
    """What the cached registry was made from, and whether a file changed just now.

    The entity files and the Wikidata list by (size, mtime, ctime, inode), the code that checks
    and folds names, and the format. Taken before parsing, so a file changed during the parse
    makes the cache stale, never wrong.
    """
    from . import __version__

    files = sorted(entities_dir.glob("*.yaml"))
    stats = {str(p.name): _stat(p) for p in files}
    wiki = None if wikidata_tsv is None else [str(Path(wikidata_tsv).resolve()),
                                               _stat(Path(wikidata_tsv))]
    doc = {"format": _CACHE_FORMAT, "kg": __version__,
           "code": [_stat(p) for p in _CODE],
           "entities": str(entities_dir.resolve()), "files": stats, "wikidata": wiki}
    now = time.time_ns()
    touched = [st for st in [*stats.values(), wiki[1] if wiki else None] if st is not None]
    racy = any(now - max(st[1], st[2]) < _RACY_NS for st in touched)
    return json.dumps(doc, sort_keys=True), racy


class IndexedRegistry(Registry):
    """A registry read from the cache file: entities are looked up by name or key on demand.

    Behaves as :class:`Registry` (``resolve``, ``candidates``, ``[key]``, iteration); the checks
    were made when the cache was written. ``entities`` (every entity, by key) is read on first
    use only.
    """

    def __init__(self, path: Path | str):  # noqa: super().__init__ is the in-memory build
        self.path = Path(path)
        uri = self.path.resolve().as_uri() + "?mode=ro&immutable=1"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._db.execute("PRAGMA trusted_schema=OFF")
        self._seen: dict[str, Entity | None] = {}
        self._all: dict[str, Entity] | None = None

    @staticmethod
    def _entity(row) -> Entity:
        key, kind, label, aliases, wikidata, part_of, file = row
        return Entity(key, kind, label, tuple(json.loads(aliases)), wikidata, part_of, file)

    _COLUMNS = "key, kind, label, aliases, wikidata, part_of, file"

    @property
    def entities(self) -> dict[str, Entity]:
        if self._all is None:
            rows = self._db.execute(f"SELECT {self._COLUMNS} FROM entity ORDER BY pos")
            self._all = {row[0]: self._entity(row) for row in rows}
        return self._all

    def __len__(self):
        return self._db.execute("SELECT count(*) FROM entity").fetchone()[0]

    def __getitem__(self, key: str) -> Entity:
        if self._all is not None:
            return self._all[key]
        if key not in self._seen:
            row = self._db.execute(f"SELECT {self._COLUMNS} FROM entity WHERE key = ?",
                                   (key,)).fetchone()
            self._seen[key] = None if row is None else self._entity(row)
        found = self._seen[key]
        if found is None:
            raise KeyError(key)
        return found

    def candidates(self, name: str, kinds=None) -> list[Entity]:
        keys = [row[0] for row in self._db.execute(
            "SELECT key FROM name WHERE name = ? ORDER BY key", (name_key(name),))]
        found = [self[k] for k in keys]
        return [e for e in found if kinds is None or e.kind in kinds]


def _write_cache(path: Path, registry: Registry, fingerprint: str) -> None:
    tmp = path.with_name(f".{path.name.lstrip('.')}.tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        db = sqlite3.connect(tmp)
        try:
            db.executescript("""
                PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
                CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
                CREATE TABLE entity (pos INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL, label TEXT NOT NULL, aliases TEXT NOT NULL,
                    wikidata TEXT, part_of TEXT, file TEXT);
                CREATE TABLE name (name TEXT NOT NULL, key TEXT NOT NULL);
            """)
            db.executemany("INSERT INTO entity VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
                (i, e.key, e.kind, e.label, json.dumps(list(e.aliases)), e.wikidata, e.part_of,
                 e.file) for i, e in enumerate(registry)))
            db.executemany("INSERT INTO name VALUES (?, ?)", (
                (folded, e.key) for e in registry for folded in {name_key(n) for n in e.names}))
            db.execute("CREATE INDEX name_by_name ON name (name)")
            db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
            db.commit()
        finally:
            db.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _open_cache(path: Path, fingerprint: str) -> IndexedRegistry | None:
    try:
        registry = IndexedRegistry(path)
        row = registry._db.execute("SELECT v FROM meta WHERE k = 'fingerprint'").fetchone()
    except (sqlite3.Error, OSError):
        return None
    return registry if row is not None and row[0] == fingerprint else None


def cached_registry(entities_dir: Path | str, wikidata_tsv: Path | str | None,
                    cache_dir: Path | str | None, *, use_cache: bool = True):
    """The registry, from the cache in ``cache_dir`` when it was made from the same files.

    Returns ``(registry, save)``: ``save()`` writes the cache (call it holding the output
    directory's lock) or is None when there is nothing to write. Without ``cache_dir`` this is
    :func:`load_registry`. ``use_cache=False`` always reads the files (a build, which needs every
    entity in memory) and only offers to refresh the cache.

    Raises
    ------
    EntityError
        As :func:`load_registry`, when the files have to be read.
    """
    entities_dir = Path(entities_dir)
    if cache_dir is None:
        return load_registry(entities_dir, wikidata_tsv), None
    path = Path(cache_dir) / REGISTRY_CACHE
    fingerprint, racy = _fingerprint(entities_dir, wikidata_tsv)
    cached = _open_cache(path, fingerprint) if path.exists() else None
    if cached is not None and use_cache:
        return cached, None
    registry = load_registry(entities_dir, wikidata_tsv)
    if racy or cached is not None:
        return registry, None

    def save():
        try:
            _write_cache(path, registry, fingerprint)
        except (sqlite3.Error, OSError):
            pass  # a cache: the next add reads the files again
    return registry, save
