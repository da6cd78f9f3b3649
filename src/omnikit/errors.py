"""
Every error omnikit raises on purpose, in one hierarchy.

```
OmnikitError
├── ValidationError (ValueError)        .errors: ["field: reason", ...]
├── NotFoundError (LookupError)         .kind, .key
├── ConflictError                       an idempotency key reused with another payload
├── PolicyError                         consent / quiet hours / frequency cap; .reason
├── RuleError                           .rule_id
│   ├── RuleSyntaxError                 .path
│   └── RuleLimitError                  depth, size or work bound exceeded
├── PluginError                         a plugin failed to load, or two claim a name; .group, .name
│   └── PluginNotFoundError (LookupError)      .available, .extra
├── StoreError                          a storage backend failed
│   ├── StoreUnavailableError           not now (locked, disk full, connection lost): retry
│   │   └── StoreNotFoundError (PluginNotFoundError)   no store for a URL's scheme
│   └── StoreRefusedError               it cannot hold that content: never retried as is
└── ConnectorError
    ├── ConnectorNotFoundError (PluginNotFoundError)   .name, .available
    ├── SignatureError                         a webhook request failed verification
    │   └── ReplayError                        ... because it was verified before
    └── DeliveryError                          .connector, .message_id
        ├── TransientDeliveryError             retried, honours .retry_after
        └── PermanentDeliveryError             never retried
```

Catch `OmnikitError` to catch them all; each error also subclasses the builtin a caller might
reasonably catch instead (`ValueError`, `LookupError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "ConflictError",
    "ConnectorError",
    "ConnectorNotFoundError",
    "DeliveryError",
    "NotFoundError",
    "OmnikitError",
    "PermanentDeliveryError",
    "PluginError",
    "PluginNotFoundError",
    "PolicyError",
    "RuleError",
    "RuleLimitError",
    "ReplayError",
    "RuleSyntaxError",
    "SignatureError",
    "StoreError",
    "StoreNotFoundError",
    "StoreRefusedError",
    "StoreUnavailableError",
    "TransientDeliveryError",
    "ValidationError",
]


class OmnikitError(Exception):
    """
    The base of every error omnikit raises on purpose.

    Attributes:
        partial: When a batch ingestion fails part-way, the `IngestResult` of what was
            committed before the failure; otherwise `None`.

    Added in version 0.1.0.
    """

    partial: Any = None


class ValidationError(OmnikitError, ValueError):
    """
    Input was rejected: each entry of *errors* names a field path and the reason.

    ```python
    try:
        hub.ingest({"type": "track"})
    except ValidationError as exc:
        exc.errors  # ('event: required field is missing', 'userId: required when ...')
    ```

    Added in version 0.1.0.
    """

    errors: tuple[str, ...]

    def __init__(self, errors: str | Iterable[str], *, prefix: str = "") -> None:
        items = (errors,) if isinstance(errors, str) else tuple(errors)
        if prefix:
            items = tuple(_prefixed(prefix, item) for item in items)
        self.errors = items or ("invalid input",)
        super().__init__("; ".join(self.errors))

    def with_prefix(self, prefix: str) -> ValidationError:
        """
        Return a copy whose field paths sit under *prefix* (`"batch[3]"`, `"properties"`).

        Added in version 0.1.0.
        """
        return ValidationError(self.errors, prefix=prefix)


def _prefixed(prefix: str, item: str) -> str:
    if item.startswith("["):
        return f"{prefix}{item}"
    if ":" in item.split(" ", 1)[0]:
        return f"{prefix}.{item}"
    return f"{prefix}: {item}"


class NotFoundError(OmnikitError, LookupError):
    """
    Nothing is stored under *key* for a thing of this *kind* (`"customer"`, `"merge"`).

    Added in version 0.1.0.
    """

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} found for {key!r}")


class ConflictError(OmnikitError):
    """
    An idempotency key was reused with a different payload, or an operation contradicts state.

    Added in version 0.1.0.
    """


class PolicyError(OmnikitError):
    """
    The contact policy refused an action; *reason* says which wall it hit (`"no_consent"`).

    Added in version 0.1.0.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class RuleError(OmnikitError):
    """
    A rule could not be built or run; *rule_id* names it when known.

    Added in version 0.1.0.
    """

    def __init__(self, message: str, *, rule_id: str | None = None) -> None:
        self.rule_id = rule_id
        super().__init__(f"rule {rule_id!r}: {message}" if rule_id else message)


class RuleSyntaxError(RuleError, ValueError):
    """
    A rule is malformed; *path* points inside it (`"and[1].=="`), *reason* says why.

    Added in version 0.1.0.
    """

    def __init__(self, message: str, *, path: str = "", rule_id: str | None = None) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message, rule_id=rule_id)


class RuleLimitError(RuleError):
    """
    A rule exceeded a safety bound (depth, size, or evaluation work).

    Added in version 0.1.0.
    """


class PluginError(OmnikitError):
    """
    A plugin could not be loaded, or two installed distributions claim the same name.

    *group* is the plugin's entry-point group (`"omnikit.stores"`), *name* its name there.
    The error that stopped it loading, if any, is the `__cause__`.

    Added in version 0.1.0.
    """

    def __init__(self, message: str, *, group: str, name: str) -> None:
        self.group = group
        self.name = name
        super().__init__(message)


class PluginNotFoundError(PluginError, LookupError):
    """
    No plugin of *group* is named *name*; *available* lists the names that are.

    When *name* is one of omnikit's own plugins and what it needs is not installed, *extra*
    names the extra that installs it (`pip install 'omnikit[postgres]'`).

    Added in version 0.1.0.
    """

    _what = "plugin"
    """What a plugin of this group is called in messages."""
    _register = "register one in this process"
    """How to register one, in messages."""

    def __init__(
        self, name: str, available: Sequence[str], *, group: str, extra: str | None = None
    ) -> None:
        self.available = tuple(available)
        self.extra = extra
        if extra is not None:
            message = (
                f"{self._what} {name!r} needs the {extra!r} extra: pip install 'omnikit[{extra}]'"
            )
        else:
            listed = ", ".join(self.available) or "none"
            message = (
                f"{self._missing(name, group)} (available: {listed}); {self._register}, "
                f"or install a package that declares it in the {group!r} entry-point group"
            )
        super().__init__(message, group=group, name=name)

    def _missing(self, name: str, group: str) -> str:
        return f"no {self._what} named {name!r} in {group!r}"


class StoreError(OmnikitError):
    """
    A storage backend failed; the driver's exception is the `__cause__`.

    Its subclasses say whether to retry: `StoreUnavailableError` (later, the same data) or
    `StoreRefusedError` (never, the same data). A `StoreError` that is neither is a fault of
    the store or of omnikit (a schema changed by hand, a bug): retrying may not help.

    Added in version 0.1.0.
    """


class StoreUnavailableError(StoreError):
    """
    A store cannot be used now: retrying later may succeed.

    It cannot be reached, opened or migrated, or an operation failed for a reason that
    passes (locked or busy, a lock or statement timeout, a full disk, a lost connection, a
    transaction the database aborted to resolve a conflict). The operation that failed changed nothing; retrying it later may succeed (the store
    opens a new connection for a lost one).

    Added in version 0.1.0.
    """


class StoreNotFoundError(StoreError, PluginNotFoundError):
    """
    No store is known for a URL's scheme, or the one known needs an extra not installed.

    A mistake in configuration, not a store that is down: unlike `StoreUnavailableError`,
    retrying does not help.

    *name* is the scheme, *available* the schemes that can be opened (see
    `omnikit.stores.open_store`).

    Added in version 0.1.0.
    """

    _what = "store"
    _register = "register one with omnikit.stores.register()"

    def __init__(self, name: str, available: Sequence[str], *, extra: str | None = None) -> None:
        super().__init__(name, available, group="omnikit.stores", extra=extra)

    def _missing(self, name: str, group: str) -> str:  # noqa: ARG002 - one group
        return f"no store for scheme {name!r}"


class StoreRefusedError(StoreError):
    """
    The store cannot hold what it was given (text it cannot encode, a number out of its range).

    Giving the same data again fails again; the data, not the store, must change. A batch
    ingestion narrows such a refusal down to the messages refused and rejects only those.

    Added in version 0.1.0.
    """


class ConnectorError(OmnikitError):
    """
    Base of errors raised by channel connectors and their registry.

    Added in version 0.1.0.
    """


class ConnectorNotFoundError(ConnectorError, PluginNotFoundError):
    """
    No connector is registered under *name*; *available* lists the names that are.

    Added in version 0.1.0.
    """

    _what = "connector"

    def __init__(self, name: str, available: Sequence[str], *, extra: str | None = None) -> None:
        super().__init__(name, available, group="omnikit.connectors", extra=extra)

    def _missing(self, name: str, group: str) -> str:  # noqa: ARG002 - one group
        return f"no connector named {name!r}"


class SignatureError(ConnectorError):
    """
    A webhook request is not what its provider sent; nothing of it is recorded.

    Its signature is missing, wrong or stale, or it repeats a request already seen.

    The message says which check failed, never the secret or the expected signature.

    Added in version 0.1.0.
    """


class ReplayError(SignatureError):
    """
    A webhook request was verified before: a replay, or the provider's retry of it.

    `Hub.receive()` takes the provider's retry of a request whose recording failed, and
    refuses any other repeat.

    Added in version 0.1.0.
    """


class DeliveryError(ConnectorError):
    """
    A provider did not accept a message.

    Added in version 0.1.0.
    """

    def __init__(self, message: str, *, connector: str, message_id: str) -> None:
        self.connector = connector
        self.message_id = message_id
        super().__init__(message)


class TransientDeliveryError(DeliveryError):
    """
    A delivery failed in a way worth retrying, no sooner than *retry_after* seconds.

    Added in version 0.1.0.
    """

    def __init__(
        self,
        message: str,
        *,
        connector: str,
        message_id: str,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, connector=connector, message_id=message_id)


class PermanentDeliveryError(DeliveryError):
    """
    A delivery failed for good (invalid address, opted out): it is never retried.

    Added in version 0.1.0.
    """
