"""SHACL Core constraints, the part of SHACL the project's shapes use, checked in plain Python.

pySHACL checked one article (about 80 triples: the article's graph, its claim graphs and the
registry entries they use) in 7 ms, most of it its own per-call work (a cache of every shape,
rdflib's memory store answering one triple pattern at a time): a validated build of 10k
articles spent over a minute there. The shapes are compiled here once, and a data graph is
indexed once per check (objects by subject and predicate, instances by class), so checking an
article is a few dictionary lookups a constraint.

Only what :data:`PARAMETERS` lists is supported, with the meaning the SHACL recommendation gives
it (https://www.w3.org/TR/shacl/, section 4); :func:`compile_shapes` raises :class:`Unsupported`,
naming the term, for any other SHACL term on a shape (``sh:closed``, a path other than a
predicate or its inverse, ...), so that a caller can fall back on a complete implementation
(:mod:`kg.validate` uses pySHACL then). SPARQL-based constraints (``sh:sparql``) are left to the
caller. Results of shapes whose ``sh:severity`` is not ``sh:Violation``, and deactivated
shapes, are not reported.

>>> from rdflib import Graph
>>> shapes = Graph().parse(format="turtle", data='''
... @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
... ex:PersonShape a sh:NodeShape ; sh:targetClass ex:Person ;
...   sh:property [ sh:path ex:name ; sh:minCount 1 ; sh:message "A person has a name." ] .''')
>>> data = Graph().parse(format="turtle", data='''
... @prefix ex: <http://example.org/> . ex:ann a ex:Person . ex:bob a ex:Person ; ex:name "Bob" .''')
>>> [str(r) for r in compile_shapes(shapes).check(data)]
['http://example.org/ann http://example.org/name: A person has a name.']
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD

__all__ = ["PARAMETERS", "Unsupported", "Result", "CoreShapes", "compile_shapes"]

#: The SHACL terms a shape may use here: targets, the constraint parameters checked, and the
#: terms that say nothing to check (messages, names, SPARQL constraints left to the caller).
PARAMETERS = frozenset(SH[t] for t in (
    "targetClass targetSubjectsOf targetObjectsOf targetNode "
    "path property node or class datatype nodeKind pattern flags minLength maxLength in hasValue "
    "minCount maxCount qualifiedValueShape qualifiedMinCount qualifiedMaxCount "
    "message name description order group defaultValue severity deactivated sparql "
    "declare prefixes").split())

_NODE_KINDS = {
    SH.IRI: (URIRef,), SH.BlankNode: (BNode,), SH.Literal: (Literal,),
    SH.BlankNodeOrIRI: (BNode, URIRef), SH.BlankNodeOrLiteral: (BNode, Literal),
    SH.IRIOrLiteral: (URIRef, Literal),
}
_TYPE, _SUBCLASS = RDF.type, RDFS.subClassOf
_STRING, _LANG_STRING = XSD.string, RDF.langString
_SPECIAL = frozenset((_TYPE, _SUBCLASS))
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


class Unsupported(ValueError):
    """The shapes use a SHACL feature outside :data:`PARAMETERS` (named in the message)."""


@dataclass(frozen=True)
class Result:
    """One violation: the focus node, the property path (``None`` for a node shape's own
    constraint), the shape's message and the shape the result comes from."""

    focus: object
    path: URIRef | None
    message: str
    shape: object

    def __str__(self) -> str:
        return f"{self.focus} {self.path or ''}: {self.message}"


class _Data:
    """A data graph indexed for the checks: each triple once."""

    def __init__(self, triples: Iterable[tuple]):
        self.objects: dict = defaultdict(dict)   # (s, p) -> {o: None}, in order met
        self.subjects: dict | None = None        # (o, p) -> {s: None}, made when first asked
        self.pairs: dict | None = None           # p -> [(s, o)], made when first asked
        self.triples = set(triples)
        self.instances: dict = defaultdict(set)  # class -> its instances (not of subclasses)
        supers: dict = defaultdict(set)
        objects, instances = self.objects, self.instances
        for s, p, o in self.triples:
            objects[s, p][o] = None
            if p in _SPECIAL:  # a hash lookup: comparing each predicate costs a call
                if p == _TYPE:
                    instances[o].add(s)
                else:
                    supers[s].add(o)
        self._subclasses = self._subclass_closure(supers) if supers else None

    @staticmethod
    def _subclass_closure(supers: dict) -> dict:
        """Each class to the classes it is a subclass of, itself included, through the data
        graph's ``rdfs:subClassOf`` (SHACL's SHACL instance, section 1.5)."""
        closure = {}
        for start in list(supers):
            seen, todo = {start}, [start]
            while todo:
                for up in supers.get(todo.pop(), ()):
                    if up not in seen:
                        seen.add(up)
                        todo.append(up)
            closure[start] = seen
        return closure

    def values(self, node, path) -> list:
        predicate, inverse = path
        if not inverse:
            return list(self.objects.get((node, predicate), ()))
        if self.subjects is None:
            self.subjects = defaultdict(dict)
            for s, p, o in self.triples:
                self.subjects[o, p][s] = None
        return list(self.subjects.get((node, predicate), ()))

    def is_instance(self, node, cls) -> bool:
        types = self.objects.get((node, _TYPE), ())
        if cls in types:
            return True
        if self._subclasses is None:
            return False
        return any(cls in self._subclasses.get(t, ()) for t in types)

    def instances_of(self, cls) -> set:
        if self._subclasses is None:
            return self.instances.get(cls, set())
        found = set()
        for t, members in self.instances.items():
            if t == cls or cls in self._subclasses.get(t, ()):
                found |= members
        return found

    def _pairs(self, predicate) -> list:
        if self.pairs is None:
            self.pairs = defaultdict(list)
            for s, p, o in self.triples:
                self.pairs[p].append((s, o))
        return self.pairs.get(predicate, [])

    def subjects_of(self, predicate) -> set:
        return {s for s, _o in self._pairs(predicate)}

    def objects_of(self, predicate) -> set:
        return {o for _s, o in self._pairs(predicate)}


@dataclass
class _Shape:
    """A node shape, or a property shape (``path`` set), compiled: its own constraints apply to
    each value node (the focus node for a node shape), its counts to the values together."""

    node: object
    message: str
    path: tuple | None = None
    active: bool = True
    classes: tuple = ()
    datatype: URIRef | None = None
    node_kind: tuple | None = None
    pattern: re.Pattern | None = None
    min_length: int | None = None
    max_length: int | None = None
    members: frozenset | None = None          # sh:in
    has_value: tuple = ()
    any_of: tuple = ()                        # sh:or: lists of shapes
    conform_to: tuple = ()                    # sh:node
    properties: tuple = ()
    min_count: int | None = None
    max_count: int | None = None
    qualified: tuple = ()                     # (shape, min, max)
    target_classes: tuple = ()
    target_subjects_of: tuple = ()
    target_objects_of: tuple = ()
    target_nodes: tuple = ()
    _compiling: bool = field(default=False, repr=False)

    def targets(self, data: _Data) -> set:
        found = set(self.target_nodes)
        for cls in self.target_classes:
            found |= data.instances_of(cls)
        for predicate in self.target_subjects_of:
            found |= data.subjects_of(predicate)
        for predicate in self.target_objects_of:
            found |= data.objects_of(predicate)
        return found

    def value_fails(self, value, data: _Data) -> bool:
        """Whether ``value`` breaks one of the constraints on each value node."""
        if self.classes and not all(data.is_instance(value, c) for c in self.classes):
            return True
        if self.datatype is not None and not _has_datatype(value, self.datatype):
            return True
        if self.node_kind is not None and not isinstance(value, self.node_kind):
            return True
        if self.pattern is not None and (isinstance(value, BNode)
                                         or not self.pattern.search(str(value))):
            return True
        if self.min_length is not None and (isinstance(value, BNode)
                                            or len(str(value)) < self.min_length):
            return True
        if self.max_length is not None and (isinstance(value, BNode)
                                            or len(str(value)) > self.max_length):
            return True
        if self.members is not None and value not in self.members:
            return True
        if self.path is None and self.has_value and value not in self.has_value:
            return True
        if self.any_of and any(not any(s.conforms(value, data) for s in options)
                               for options in self.any_of):
            return True
        return bool(self.conform_to) and any(not s.conforms(value, data)
                                             for s in self.conform_to)

    def violated(self, focus, data: _Data) -> bool:
        """Whether ``focus`` breaks this shape (its values, counts and properties)."""
        if not self.active:
            return False
        if self.path is None:
            return self.value_fails(focus, data) or self._properties_violated(focus, data)
        values = data.values(focus, self.path)
        if self.min_count is not None and len(values) < self.min_count:
            return True
        if self.max_count is not None and len(values) > self.max_count:
            return True
        if any(v not in values for v in self.has_value):
            return True
        for shape, low, high in self.qualified:
            n = sum(1 for v in values if shape.conforms(v, data))
            if (low is not None and n < low) or (high is not None and n > high):
                return True
        return any(self.value_fails(v, data) or self._properties_violated(v, data)
                   for v in values)

    def _properties_violated(self, node, data: _Data) -> bool:
        return bool(self.properties) and any(p.violated(node, data) for p in self.properties)

    def conforms(self, node, data: _Data) -> bool:
        return not self.violated(node, data)

    def results(self, focus, data: _Data) -> list[Result]:
        """The results of ``focus`` against this shape: one for its own constraints, one for
        each of its property shapes broken (recursively, as SHACL reports them)."""
        if not self.active:
            return []
        if self.path is not None:
            return [Result(focus, self.path[0], self.message, self.node)] \
                if self.violated(focus, data) else []
        found = [Result(focus, None, self.message, self.node)] \
            if self.value_fails(focus, data) else []
        for prop in self.properties:
            found.extend(prop.results(focus, data))
        return found


def _has_datatype(value, datatype) -> bool:
    if not isinstance(value, Literal):
        return False
    actual = value.datatype
    if actual is None:
        actual = _LANG_STRING if value.language else _STRING
    return actual == datatype and value.ill_typed is not True


class CoreShapes:
    """Compiled shapes (see :func:`compile_shapes`)."""

    def __init__(self, shapes: list[_Shape]):
        self._shapes = shapes

    def check(self, data: Graph | Iterable[tuple]) -> list[Result]:
        """Every violation of ``data`` (a graph, or ``(s, p, o)`` triples), in a stable order.

        Examples
        --------
        >>> from rdflib import Graph
        >>> compile_shapes(Graph()).check([])
        []
        """
        indexed = _Data(data)
        found = []
        for shape in self._shapes:
            for focus in sorted(shape.targets(indexed), key=_order):
                found.extend(shape.results(focus, indexed))
        return found


def _order(term):
    return (type(term).__name__, str(term))


def compile_shapes(shapes: Graph) -> CoreShapes:
    """The shapes of ``shapes`` that have targets, compiled with every shape they use.

    Raises
    ------
    Unsupported
        A shape uses a SHACL term outside :data:`PARAMETERS`, a path other than a predicate or
        ``[ sh:inversePath p ]``, ``sh:qualifiedValueShapesDisjoint``, or refers to itself.

    Examples
    --------
    >>> from rdflib import Graph
    >>> compile_shapes(Graph().parse(format="turtle", data='''
    ...   @prefix sh: <http://www.w3.org/ns/shacl#> .
    ...   <urn:s> a sh:NodeShape ; sh:targetNode <urn:n> ; sh:closed true .'''))
    Traceback (most recent call last):
    ...
    kg.shacl.Unsupported: shape urn:s uses sh:closed, which kg.shacl does not check
    """
    return _Compiler(shapes).compile()


class _Compiler:
    _TARGETS = (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode)

    def __init__(self, graph: Graph):
        self.g = graph
        self.done: dict = {}

    def compile(self) -> CoreShapes:
        roots = {s for t in self._TARGETS for s in self.g.subjects(t, None)}
        # implicit class targets: a shape that is also a class targets its instances
        roots |= {shape for kind in (SH.NodeShape, SH.PropertyShape)
                  for shape in self.g.subjects(RDF.type, kind) if self._is_class(shape)}
        return CoreShapes([self.shape(s) for s in sorted(roots, key=_order)])

    def _is_class(self, node) -> bool:
        return (node, RDF.type, RDFS.Class) in self.g or (node, RDF.type, OWL.Class) in self.g

    def _one(self, node, predicate):
        values = list(self.g.objects(node, predicate))
        if len(values) > 1:
            raise Unsupported(f"shape {node} has {len(values)} values of {self._name(predicate)}")
        return values[0] if values else None

    @staticmethod
    def _name(term) -> str:
        return "sh:" + str(term)[len(str(SH)):] if str(term).startswith(str(SH)) else str(term)

    def _int(self, node, predicate):
        value = self._one(node, predicate)
        return None if value is None else int(value)

    def _list(self, node, predicate) -> list:
        return [item for head in self.g.objects(node, predicate)
                for item in Collection(self.g, head)]

    def _path(self, node):
        path = self._one(node, SH.path)
        if path is None:
            return None
        if isinstance(path, URIRef):
            return (path, False)
        inverse = self._one(path, SH.inversePath)
        if isinstance(inverse, URIRef) and len(list(self.g.predicate_objects(path))) == 1:
            return (inverse, True)
        raise Unsupported(f"shape {node} has a path kg.shacl does not follow (a predicate "
                          "or [ sh:inversePath predicate ] only)")

    def shape(self, node) -> _Shape:
        known = self.done.get(node)
        if known is not None:
            if known._compiling:
                raise Unsupported(f"shape {node} refers to itself")
            return known
        for predicate in set(self.g.predicates(node, None)):
            if str(predicate).startswith(str(SH)) and predicate not in PARAMETERS \
                    and predicate != SH.inversePath:
                raise Unsupported(f"shape {node} uses {self._name(predicate)}, which "
                                  "kg.shacl does not check")
        if self._one(node, SH.qualifiedValueShapesDisjoint) is not None:
            raise Unsupported(f"shape {node} uses sh:qualifiedValueShapesDisjoint")
        path = self._path(node)
        # one message (pySHACL reports each): the English or untagged one first
        messages = sorted(self.g.objects(node, SH.message),
                          key=lambda m: (getattr(m, "language", None) not in (None, "en"), str(m)))
        message = messages[0] if messages else None
        severity = self._one(node, SH.severity)
        deactivated = self._one(node, SH.deactivated)
        shape = self.done[node] = _Shape(
            node=node, path=path, _compiling=True,
            message=str(message) if message is not None else f"does not conform to {node}",
            active=(severity in (None, SH.Violation)
                    and not (deactivated is not None and deactivated.toPython() is True)))
        shape.classes = tuple(self.g.objects(node, SH["class"]))
        shape.datatype = self._one(node, SH.datatype)
        kind = self._one(node, SH.nodeKind)
        if kind is not None:
            if kind not in _NODE_KINDS:
                raise Unsupported(f"shape {node} has an unknown sh:nodeKind {kind}")
            shape.node_kind = _NODE_KINDS[kind]
        pattern = self._one(node, SH.pattern)
        if pattern is not None:
            flags = 0
            for letter in str(self._one(node, SH.flags) or ""):
                if letter not in _FLAGS:
                    raise Unsupported(f"shape {node} has sh:flags {letter!r}")
                flags |= _FLAGS[letter]
            shape.pattern = re.compile(str(pattern), flags)
        shape.min_length = self._int(node, SH.minLength)
        shape.max_length = self._int(node, SH.maxLength)
        if (node, SH["in"], None) in self.g:
            shape.members = frozenset(self._list(node, SH["in"]))
        shape.has_value = tuple(self.g.objects(node, SH.hasValue))
        shape.any_of = tuple(tuple(self.shape(m) for m in Collection(self.g, head))
                             for head in self.g.objects(node, SH["or"]))
        shape.conform_to = tuple(self.shape(s) for s in self.g.objects(node, SH.node))
        shape.properties = tuple(self.shape(p) for p in self.g.objects(node, SH.property))
        if path is not None:
            shape.min_count = self._int(node, SH.minCount)
            shape.max_count = self._int(node, SH.maxCount)
            qualified = self._one(node, SH.qualifiedValueShape)
            if qualified is not None:
                shape.qualified = ((self.shape(qualified), self._int(node, SH.qualifiedMinCount),
                                    self._int(node, SH.qualifiedMaxCount)),)
        shape.target_classes = tuple(self.g.objects(node, SH.targetClass))
        if self._is_class(node):
            shape.target_classes += (node,)
        shape.target_subjects_of = tuple(self.g.objects(node, SH.targetSubjectsOf))
        shape.target_objects_of = tuple(self.g.objects(node, SH.targetObjectsOf))
        shape.target_nodes = tuple(self.g.objects(node, SH.targetNode))
        shape._compiling = False
        return shape
