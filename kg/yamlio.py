"""Reading the hand-written YAML files safely, with line numbers for error messages.

YAML anchors and aliases are refused: a claim file has no use for them and they are how a small
file expands into a huge one ("billion laughs"). Merge keys (``<<``) are refused with them, and so
is a key given twice in one mapping (YAML would silently keep the last value). Only the safe tags
are constructed (``!!python/...`` is an error, never executed). Strings holding a lone surrogate
(a ``"\\ud800"`` escape, which is not a character and cannot be written as UTF-8) are refused, and
a value that cannot be constructed (``2018-02-30``, an integer of thousands of digits) is an error
at its line. Files are read with a size bound, and only regular files are read.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .errors import InputError
from .fsio import read_bounded

__all__ = ["LineDict", "read_yaml", "MAX_BYTES"]

#: Hand-written data files are small; anything larger is refused rather than parsed.
MAX_BYTES = 8 * 1024 * 1024

_SURROGATE = re.compile("[\ud800-\udfff]")
_MERGE_TAG = "tag:yaml.org,2002:merge"


class LineDict(dict):
    """A mapping that remembers the line it started on (1-based)."""

    line: int | None = None


def _refuse(message, node):
    return yaml.constructor.ConstructorError(None, None, message, node.start_mark)


_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG


# The tag each plain scalar's text resolved to: no path resolvers are registered, so a plain
# scalar's tag depends on its text alone, and data files repeat their keys and many values.
_PLAIN_TAGS: dict[str, str] = {}


class _Checks:
    """The constructor rules shared by the pure-Python and the libyaml loaders."""

    def resolve(self, kind, value, implicit):
        # PyYAML tries its regular expressions on every plain scalar, called from the C parser
        # too: remembering the answer took read_yaml from 0.144 to 0.13 ms per claim file.
        if kind is yaml.ScalarNode and implicit[0] and not self.yaml_path_resolvers:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                if len(_PLAIN_TAGS) >= 50_000:
                    _PLAIN_TAGS.clear()
                tag = _PLAIN_TAGS[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)

    #: Whether the text has a backslash. Decoded UTF-8 holds no surrogate, so one can only come
    #: from an escape (``"\\ud800"``); without a backslash no string needs searching.
    _escapes = True

    def build(self, node):
        """The value of a composed node (aliases already refused, so it is a tree).

        Strings, lists and mappings, nearly every node of a data file, are built here in one
        call per node, with the same checks as the methods below; PyYAML's generic
        ``construct_object`` takes several calls and a state table per node (read_yaml went
        from 0.21 to 0.13 ms per claim file). Any other node (numbers, dates, booleans, null,
        ``!!set`` ...) goes to PyYAML's safe constructors, and an unknown tag fails there.
        """
        tag = node.tag
        if tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
            return self._text(node.value, node)
        if tag == _MAP_TAG and isinstance(node, yaml.MappingNode):
            mapping = LineDict()
            for key_node, value_node in node.value:
                mapping[self._key(key_node, mapping)] = self.build(value_node)
            mapping.line = node.start_mark.line + 1
            return mapping
        if tag == _SEQ_TAG and isinstance(node, yaml.SequenceNode):
            return [self.build(item) for item in node.value]
        return self.construct_object(node, deep=True)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # 2018-02-30, a 5000-digit integer, ...
            raise _refuse(f"cannot read this value: {exc}", node) from None

    def _text(self, value: str, node) -> str:
        """``value``, unless it holds a lone surrogate."""
        if self._escapes and _SURROGATE.search(value):
            raise _refuse("text holds a lone surrogate (\\ud800-\\udfff), which is not a "
                          "character", node)
        return value

    def _key(self, key_node, seen):
        """The key ``key_node`` stands for, refused if it is a merge key (``<<``), cannot be a
        key (a list or mapping) or is in ``seen`` already."""
        if key_node.tag == _MERGE_TAG:
            raise _refuse("YAML merge keys (<<) are not allowed in data files", key_node)
        key = self.build(key_node)
        try:
            duplicate = key in seen
        except TypeError:
            raise _refuse("a mapping key must be a plain value, not a list or mapping",
                          key_node) from None
        if duplicate:
            raise _refuse(f"key {key!r} given twice in one mapping", key_node)
        return key

    def construct_yaml_str(self, node):
        return self._text(super().construct_yaml_str(node), node)

    def construct_mapping(self, node, deep=False):
        seen = set()
        if isinstance(node, yaml.MappingNode):
            for key_node, _value in node.value:
                seen.add(self._key(key_node, seen))
        mapping = LineDict(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        return mapping


class _Loader(_Checks, yaml.SafeLoader):
    """Pure-Python loader: refuses an alias as soon as the parser meets it."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed in data files", event.start_mark)
        return super().compose_node(parent, index)


for _cls in (_Loader,):
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Checks.construct_mapping)
    _cls.add_constructor("tag:yaml.org,2002:str", _Checks.construct_yaml_str)

# libyaml parses and composes in C, 12x faster than the pure-Python parser (measured on claim
# files); it resolves aliases itself, so they are found afterwards as a node reached twice.
def _libyaml_loader():
    if not getattr(yaml, "__with_libyaml__", False):
        return None

    class CLoader(_Checks, yaml.CSafeLoader):
        pass

    CLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                            _Checks.construct_mapping)
    CLoader.add_constructor("tag:yaml.org,2002:str", _Checks.construct_yaml_str)
    return CLoader


_CLoader = _libyaml_loader()


def _refuse_aliases(root) -> None:
    """Raise at the first node reached twice: an alias (``*name``) of an anchored node."""
    # each node is visited with the node that marks where it is used: the key it is the value
    # of, or its enclosing sequence (an alias has no position of its own once composed)
    seen, todo = set(), [(root, root)]
    while todo:
        node, site = todo.pop()
        if id(node) in seen:
            raise _refuse("YAML aliases (*name) are not allowed in data files", site)
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                todo.append((key, key))
                todo.append((value, key))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend((item, node) for item in node.value)


def _load(text: str):
    loader = (_CLoader or _Loader)(text)
    loader._escapes = "\\" in text
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        # no anchor (&name), no alias: an alias of nothing does not compose. The pure-Python
        # loader refuses aliases while composing.
        if _CLoader is not None and "&" in text:
            _refuse_aliases(node)
        return loader.build(node)
    finally:
        loader.dispose()


def read_yaml(path: Path | str, error=InputError):
    """Parse one YAML file; any problem raises ``error`` naming the file and line.

    Parameters
    ----------
    path : path
        The file; it must be a regular file of at most :data:`MAX_BYTES` bytes of UTF-8.
    error : type
        The :class:`~kg.errors.InputError` subclass to raise.

    Raises
    ------
    InputError
        (``error``) The file cannot be read, is too large, is not UTF-8, is not well-formed YAML,
        or uses what data files may not: aliases, merge keys, repeated keys, unsafe tags, lone
        surrogates, values that cannot be constructed, nesting too deep for the parser.
    """
    path = path if isinstance(path, Path) else Path(path)
    raw = read_bounded(path, MAX_BYTES, error)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text (byte {exc.start})", file=path) from None
    try:
        return _load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"malformed YAML: {problem}", file=path, line=line) from None
    except RecursionError:
        raise error("YAML nested too deeply", file=path) from None
