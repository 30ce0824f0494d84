"""Exceptions the store raises where a caller must tell cases apart (mapped to gRPC codes).

Bad arguments (an unknown state or sort field) are plain ValueError; lookups of a missing
row return None rather than raising, except where the method cannot return None.
"""


class StoreError(Exception):
    """Base class of the store's own failures."""


class NotFound(StoreError):
    """A row the operation needs does not exist (e.g. creating a job of a missing pipeline)."""


class AlreadyExists(StoreError):
    """A row with this id (or this unique key) already exists."""


class ReadOnlyStore(StoreError):
    """A write or a migration was attempted through a store opened with `read_only=True`."""
