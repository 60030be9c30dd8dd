"""The entity registry: one key per actor, place, meeting, pledge, topic and measure.

Entity resolution happens here and only here: a claim names an entity by its key, its label or
any alias ("Pompeo", "Secretary of State Mike Pompeo", "the U.S. top diplomat"), and the
:class:`Registry` returns the one entity meant, looking only among the kinds the field accepts.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import AmbiguousEntity, EntityError, UnknownEntity
from .iris import category, normalize_text
from .yamlio import read_yaml

__all__ = ["Entity", "Registry", "load_registry", "ACTOR_KINDS", "MEETING_KINDS", "KINDS",
           "name_key", "KEY_PATTERN"]

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
            other = [self.entities[k] for k in near]
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
