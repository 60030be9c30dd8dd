"""Reading the hand-written YAML files safely, with line numbers for error messages.

YAML anchors and aliases are refused: a claim file has no use for them and they are how a small
file expands into a huge one ("billion laughs"). Files are read with a size bound.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import InputError

__all__ = ["LineDict", "read_yaml", "MAX_BYTES"]

#: Hand-written data files are small; anything larger is refused rather than parsed.
MAX_BYTES = 8 * 1024 * 1024


class LineDict(dict):
    """A mapping that remembers the line it started on (1-based)."""

    line: int | None = None


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed in data files", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        mapping = LineDict(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                        _Loader.construct_mapping)


def read_yaml(path: Path | str, error=InputError):
    """Parse one YAML file; any problem raises ``error`` naming the file and line."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise error(f"file is {size} bytes, over the {MAX_BYTES}-byte limit", file=path)
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", file=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text (byte {exc.start})", file=path) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"malformed YAML: {problem}", file=path, line=line) from None
    except RecursionError:
        raise error("YAML nested too deeply", file=path) from None
