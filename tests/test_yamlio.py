"""kg.yamlio's own constructor: the values PyYAML's safe loader gives, with the data-file checks,
the same with libyaml and with the pure-Python parser."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml

import kg.yamlio as Y
from kg.errors import InputError

GOOD = [
    "a: 1\nb: [x, 'y', \"z\"]\nc: {d: null, e: true, f: 1.5}\n",
    "- 2018-07-27\n- 2018-07-27 10:00:00\n- 0x1F\n- .inf\n- ~\n- 'héllo \\u00e9'\n",
    "quote: \"said \\\"no\\\" \\u2014 twice\"\nnested:\n  - k: [1, [2, [3]]]\n  - {}\n  - []\n",
    "s: !!set {a, b}\nbin: !!binary aGVsbG8=\no: !!omap [{x: 1}, {y: 2}]\n",
    "1: int key\n2018-01-01: date key\nnull: null key\n",
    "",
    "just a string\n",
    # the same text plain and quoted, twice: a plain scalar's tag is remembered, a quoted one's
    # is always a string
    "x: 1\ny: '1'\nz: 1\nw: true\nv: 'true'\nu: true\n'x2': 2018-01-01\nt: '2018-01-01'\n",
]
BAD = [
    ("a: 1\na: 2\n", "key 'a' given twice in one mapping"),
    ("base: &b {x: 1}\nuse: *b\n", "aliases (*name) are not allowed"),
    ("<<: {x: 1}\n", "merge keys (<<) are not allowed"),
    ("? [a, b]\n: v\n", "a mapping key must be a plain value"),
    ("? {a: 1}\n: v\n", "a mapping key must be a plain value"),
    # libyaml refuses the escape itself; the pure-Python parser makes the string, refused after
    ("t: \"\\ud800\"\n", "lone surrogate|invalid Unicode character escape"),
    ("d: 2018-02-30\n", "cannot read this value"),
    ("x: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
    ("x: !custom {a: 1}\n", "could not determine a constructor"),
    ("x: [1, 2\n", "malformed YAML"),
]


@pytest.fixture(params=["libyaml", "python"])
def loader(request, monkeypatch):
    if request.param == "python":
        monkeypatch.setattr(Y, "_CLoader", None)
    elif Y._CLoader is None:
        pytest.fail("PyYAML was installed without libyaml (pyproject requires the wheel)")
    return request.param


@pytest.mark.parametrize("text", GOOD)
def test_values_are_what_the_safe_loader_gives(tmp_path, loader, text):
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    assert Y.read_yaml(path) == yaml.safe_load(text)


def test_mappings_remember_their_line(tmp_path, loader):
    path = tmp_path / "f.yaml"
    path.write_text("top: 1\nitems:\n  - a: 1\n    b: 2\n  - c: 3\n", encoding="utf-8")
    data = Y.read_yaml(path)
    assert data.line == 1 and [m.line for m in data["items"]] == [3, 5]
    assert isinstance(Y.read_yaml(path)["items"][0], Y.LineDict)
    path.write_text("d: 2018-07-27\n", encoding="utf-8")
    assert Y.read_yaml(path) == {"d": dt.date(2018, 7, 27)}


@pytest.mark.parametrize("text,message", BAD)
def test_what_data_files_may_not_hold_is_refused_with_file_and_line(tmp_path, loader, text,
                                                                     message):
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    pattern = "|".join(re.escape(part) for part in message.split("|"))
    with pytest.raises(InputError, match=pattern) as err:
        Y.read_yaml(path)
    assert str(path) in str(err.value)
