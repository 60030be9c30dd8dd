"""The one exception hierarchy of the package.

Every error the pipeline raises on bad input derives from :class:`KGError` and carries the file and
the item (claim id, entity key, query name, parameter) it is about, so the CLI can print one clear
line instead of a traceback:

>>> err = QuoteNotFound("quote not found in the article", file="data/claims/x.yaml", item="c3")
>>> str(err)
'data/claims/x.yaml: c3: quote not found in the article'
>>> isinstance(err, ClaimError) and isinstance(err, KGError)
True
"""

from __future__ import annotations

__all__ = [
    "KGError", "InputError", "ArticleError", "EntityError", "UnknownEntity", "AmbiguousEntity",
    "ClaimError", "QuoteNotFound", "DateError", "ValidationError", "StoreError", "StoreBusy",
    "StaleStore", "QueryError", "UnsafeQuery", "QueryTimeout", "ParameterError",
]


class KGError(Exception):
    """Root of every error this package raises on purpose.

    Parameters
    ----------
    message : str
        What is wrong, in words a user can act on.
    file : str, optional
        The file the problem is in.
    item : str, optional
        The item inside the file: a claim id, an entity key, a query name.
    line : int, optional
        The line in ``file``, when it is known.
    """

    def __init__(self, message: str, *, file: str | None = None, item: str | None = None,
                 line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = None if file is None else str(file)
        self.item = item
        self.line = line

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.item:
            where.append(str(self.item))
        return ": ".join(where + [self.message])


class InputError(KGError):
    """A file given to the pipeline cannot be read or parsed."""


class ArticleError(InputError):
    """An article text or its metadata is missing, altered or malformed."""


class EntityError(InputError):
    """The entity registry is malformed, or a name cannot be resolved to one entity."""


class UnknownEntity(EntityError):
    """A name or key matches no entity of the expected kind."""

    def __init__(self, message, *, candidates=(), **kw):
        super().__init__(message, **kw)
        self.candidates = list(candidates)


class AmbiguousEntity(EntityError):
    """A name matches several entities; ``candidates`` lists them."""

    def __init__(self, message, *, candidates=(), **kw):
        super().__init__(message, **kw)
        self.candidates = list(candidates)


class ClaimError(InputError):
    """A claim is malformed or does not match its article."""


class QuoteNotFound(ClaimError):
    """A claim's quote is not a verbatim part of its article (or cites page furniture)."""


class DateError(ClaimError):
    """A date expression cannot be read, or names an impossible date."""


class ValidationError(KGError):
    """A built graph does not satisfy the SHACL shapes in ``ontology/shapes.ttl``."""


class StoreError(KGError):
    """The store cannot be opened, read or written."""


class StoreBusy(StoreError):
    """Another process holds the store's write lock."""


class StaleStore(StoreError):
    """The store's derived facts were made by another kg's rules: ``kg rederive`` recounts them."""


class QueryError(KGError):
    """A query is malformed, unknown, or its parameters are wrong."""


class ParameterError(QueryError):
    """A query parameter is missing, unexpected or of the wrong kind."""


class UnsafeQuery(QueryError):
    """A query asks for something the read-only query layer refuses (SERVICE, LOAD, updates)."""


class QueryTimeout(QueryError):
    """A query ran past its time limit and was stopped."""
