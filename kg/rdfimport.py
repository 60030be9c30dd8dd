"""Importing RDF a user hands over, without letting the file reach out of the machine or blow up.

Only N-Triples, N-Quads, Turtle and TriG are read: the four formats whose parsers can neither
fetch anything nor expand anything. RDF/XML and JSON-LD are refused by name, unread:

* RDF/XML may declare XML entities in a DTD. Oxigraph's RDF/XML parser expands internal entities:
  a 1 KB "billion laughs" file makes it allocate gigabytes and abort the whole process (measured
  with pyoxigraph 0.5; the abort is not a Python exception and cannot be caught).
* JSON-LD's ``@context`` may name a remote document. pyoxigraph refuses to fetch it, but rdflib's
  JSON-LD parser fetches it by default, and a context can be large or hostile; the format is
  refused so that no code path can be talked into a request.

The file is parsed in a child process with a memory, CPU-time and output-size limit and a
wall-clock timeout, so that a parser crash or a pathological file costs the child, never the
caller. The child writes every triple, as N-Quads, into the one graph the caller names; the
parent then loads that output in one transaction (:meth:`pyoxigraph.Store.load`), so an import
that fails leaves the store as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyoxigraph as ox

from .errors import InputError, StoreError
from .fsio import read_bounded
from .vocab import ID

__all__ = ["import_rdf", "ACCEPTED", "REFUSED", "MAX_IMPORT_BYTES"]

#: Files larger than this are refused unread.
MAX_IMPORT_BYTES = 32 * 1024 * 1024
#: File suffix -> pyoxigraph format name, for the formats that are read.
ACCEPTED = {".nt": "N_TRIPLES", ".nq": "N_QUADS", ".ttl": "TURTLE", ".trig": "TRIG"}
_NAMES = {"nt": ".nt", "ntriples": ".nt", "n-triples": ".nt", "nq": ".nq", "nquads": ".nq",
          "n-quads": ".nq", "ttl": ".ttl", "turtle": ".ttl", "trig": ".trig"}
_XML_WHY = ("RDF/XML is refused: a DTD can declare entities that expand a small file into "
            "gigabytes (billion laughs) or read other files; convert it to Turtle or N-Triples "
            "with a tool you trust")
_JSONLD_WHY = ("JSON-LD is refused: its @context can make a parser fetch remote documents; "
               "convert it to Turtle or N-Triples with a tool you trust")
#: File suffix or format name -> why it is refused.
REFUSED = {".rdf": _XML_WHY, ".owl": _XML_WHY, ".xml": _XML_WHY, ".rdfxml": _XML_WHY,
           "xml": _XML_WHY, "rdfxml": _XML_WHY, "rdf/xml": _XML_WHY, "rdf": _XML_WHY,
           ".jsonld": _JSONLD_WHY, ".json": _JSONLD_WHY, "jsonld": _JSONLD_WHY,
           "json-ld": _JSONLD_WHY, "json": _JSONLD_WHY}

# The child: limits first, then parse, then write N-Quads into the target graph.
_CHILD = r"""
import json, resource, sys
src, fmt, out, graph, mem, cpu, fsize = sys.argv[1:8]
for which, value in ((resource.RLIMIT_AS, int(mem)), (resource.RLIMIT_CPU, int(cpu)),
                     (resource.RLIMIT_FSIZE, int(fsize))):
    resource.setrlimit(which, (value, value))
import pyoxigraph as ox

def report(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()

target = ox.NamedNode(graph)
count = [0]

def triples():
    for quad in ox.parse(path=src, format=getattr(ox.RdfFormat, fmt), rename_blank_nodes=True):
        if not isinstance(quad.graph_name, ox.DefaultGraph):
            raise LookupError(str(quad.graph_name))
        count[0] += 1
        yield ox.Quad(quad.subject, quad.predicate, quad.object, target)

try:
    with open(out, "wb") as handle:
        ox.serialize(triples(), handle, ox.RdfFormat.N_QUADS)
except SyntaxError as exc:
    report(error=exc.msg or "syntax error", line=exc.lineno)
    sys.exit(2)
except LookupError as exc:
    report(error=f"the file names graph {exc.args[0]}: named graphs are refused, every triple "
                 f"of an import goes into the one graph the import names", line=None)
    sys.exit(2)
except (OSError, ValueError, MemoryError) as exc:
    report(error=f"cannot parse: {exc}", line=None)
    sys.exit(3)
report(count=count[0])
"""


def _format(path: Path, fmt: str | None) -> str:
    key = path.suffix.lower() if fmt is None else fmt.strip().lower()
    if key in REFUSED:
        raise InputError(REFUSED[key], file=path)
    suffix = key if fmt is None else _NAMES.get(key)
    if suffix not in ACCEPTED:
        wanted = ", ".join(ACCEPTED)
        raise InputError(f"cannot tell the RDF format from {key!r}: an import is N-Triples, "
                         f"N-Quads, Turtle or TriG ({wanted})", file=path)
    return ACCEPTED[suffix]


def _sniff(path: Path, head: bytes) -> None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<!doctype", b"<!entity", b"<rdf:rdf")):
        raise InputError("this file is XML (RDF/XML?), whatever its name says; " + _XML_WHY,
                         file=path, line=1)


def import_rdf(path: Path | str, store, graph_iri: str, *, fmt: str | None = None,
               max_bytes: int = MAX_IMPORT_BYTES, timeout: float = 60.0,
               memory_bytes: int = 1024 ** 3) -> int:
    """Load the triples of an RDF file into one named graph of ``store``.

    Parameters
    ----------
    path : path
        An N-Triples (``.nt``), N-Quads (``.nq``), Turtle (``.ttl``) or TriG (``.trig``) file.
        An N-Quads or TriG file may only use the default graph.
    store : kg.store.Store
        The store to add to (opened for writing).
    graph_iri : str
        The named graph the triples go into; an http(s) IRI outside the project's own
        ``https://w3id.org/newskg/id/`` space, so an import can never write into an article's,
        a claim's, the registry's or the ontology's graph.
    fmt : str, optional
        The format, when the file name does not tell it (``turtle``, ``nt``, ``nq``, ``trig``).
    max_bytes : int
        Larger files are refused unread.
    timeout : float
        Seconds the parser may run.
    memory_bytes : int
        Address space the parser process may use.

    Returns
    -------
    int
        How many triples the file held (a triple given twice counts twice; the store, a set,
        keeps it once).

    Raises
    ------
    InputError
        Naming the file (and the line, for a syntax error): a refused format (RDF/XML,
        JSON-LD, anything but the four above), a file too large or not a regular file, a
        syntax error, a named graph in the file, or a parser that ran out of time or memory.
        Nothing is added to the store in any of these cases.
    StoreError
        The store refused the write; nothing is added.
    """
    path = Path(path)
    name = _format(path, fmt)
    if not isinstance(graph_iri, str) or not graph_iri.startswith(("http://", "https://")):
        raise InputError(f"the target graph must be an http(s) IRI, not {graph_iri!r}",
                         file=path, item=str(graph_iri))
    if graph_iri.startswith(str(ID)):
        raise InputError(f"<{graph_iri}> is in the project's own IRI space ({ID}): an import "
                         f"may not write into the graphs the loader makes", file=path,
                         item=graph_iri)
    try:
        target = ox.NamedNode(graph_iri)
    except ValueError as exc:
        raise InputError(f"the target graph is not a valid IRI: {exc}", file=path,
                         item=graph_iri) from None
    head = read_bounded(path, max_bytes, InputError, limit="import limit", head=512)
    _sniff(path, head)
    with tempfile.TemporaryDirectory(prefix="kg-import-") as scratch:
        out = Path(scratch) / "import.nq"
        # N-Quads of the same triples are a few times longer than compact Turtle, never more
        # than this.
        out_cap = max(64 * max_bytes, 1 << 20)
        args = [sys.executable, "-I", "-c", _CHILD, str(path), name, str(out), target.value,
                str(memory_bytes), str(max(1, int(timeout) + 1)), str(out_cap)]
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                                  env={"PATH": os.environ.get("PATH", ""),
                                       "RUST_BACKTRACE": "0"})
        except subprocess.TimeoutExpired:
            raise InputError(f"parsing took longer than {timeout:g} s and was stopped",
                             file=path) from None
        report = {}
        for text in reversed(done.stdout.splitlines()):
            try:
                report = json.loads(text)
                break
            except ValueError:
                continue
        if done.returncode != 0 or "count" not in report:
            if "error" in report:
                raise InputError(report["error"], file=path, line=report.get("line"))
            raise InputError(f"the parser failed (exit status {done.returncode}): out of "
                             f"memory, time or output space, or crashed", file=path)
        try:
            store.raw.load(path=str(out), format=ox.RdfFormat.N_QUADS)
            store.version += 1  # what the store holds changed: its caches must be rebuilt
        except (OSError, ValueError, SyntaxError) as exc:
            raise StoreError(f"cannot add the imported triples: {exc}",
                             file=getattr(store, "path", None)) from None
        return int(report["count"])
