"""
One loader for every kind of plugin: stores, connectors, analytics backends.

A loader finds a plugin by name, in this order (as SQLAlchemy finds a dialect):

1. registered in this process: `loader.register("acme", AcmeStore)`;
2. built into omnikit (for stores: `memory`, `sqlite`, `postgresql`);
3. declared by an installed distribution in the loader's entry-point group:

   ```toml
   [project.entry-points."omnikit.stores"]
   acme = "acme_omnikit.store:AcmeStore"
   ```

An unknown name raises the group's `PluginNotFoundError`, listing the names that exist; a
built-in whose dependencies are not installed names the extra that installs them. Two
distributions declaring one name, or a plugin that fails to import, raise a `PluginError`
naming the distributions. `OMNIKIT_DISABLE_PLUGIN_AUTOLOAD=1` turns the third step off.

omnikit declares its built-ins in its own entry points too, so tools that list a group see
them; the table here is what a source checkout uses, with no metadata installed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from omnikit.errors import (
    ConnectorNotFoundError,
    PluginError,
    PluginNotFoundError,
    StoreNotFoundError,
    ValidationError,
)

__all__ = ["ANALYTICS", "AUTOLOAD_OFF", "CONNECTORS", "STORES", "Builtin", "PluginLoader"]

AUTOLOAD_OFF = "OMNIKIT_DISABLE_PLUGIN_AUTOLOAD"
"""The environment variable that, set (and not `0`), stops loaders reading entry points."""

_NAME = re.compile(r"[a-z][a-z0-9+._-]{0,62}")
_TARGET = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")

NotFound = Callable[[str, Sequence[str], "str | None"], PluginNotFoundError]
"""Makes a group's not-found error from the name, the names available and an extra."""


@attrs.frozen
class Builtin:
    """
    A plugin shipped with omnikit.

    Attributes:
        target: Where it is, as `module:attribute`; imported when first asked for.
        extra: The omnikit extra that installs what it needs, if any.
        requires: The modules it needs, checked before importing *target*.
    """

    target: str
    extra: str | None = None
    requires: tuple[str, ...] = ()


class PluginLoader:
    """
    Finds the plugins of one entry-point *group* by name.

    Args:
        group: The entry-point group (`"omnikit.stores"`).
        builtins: omnikit's own plugins, by name.
        not_found: Makes the error raised for a name nothing answers to.
    """

    def __init__(
        self,
        group: str,
        *,
        builtins: Mapping[str, Builtin] | None = None,
        not_found: NotFound | None = None,
    ) -> None:
        self.group = group
        self._builtins = dict(builtins or {})
        self._registered: dict[str, Callable[[], Any]] = {}
        self._lock = threading.Lock()
        self._not_found: NotFound = not_found or (
            lambda name, available, extra: PluginNotFoundError(
                name, available, group=group, extra=extra
            )
        )

    # -- registering -------------------------------------------------------------------------

    def register(self, name: str, target: object) -> None:
        """
        Make *target* the plugin named *name* in this process, before built-ins and packages.

        *target* is the plugin itself, or where it is as `"module:attribute"` (imported when
        first asked for). Registering a name again replaces the plugin.

        Raises:
            ValidationError: If *name* is not a plugin name or *target* not a plugin.
        """
        key = _checked_name(name)
        if isinstance(target, str):
            if not _TARGET.fullmatch(target):
                raise ValidationError(
                    f"target: {target!r} is not 'module:attribute' (e.g. 'acme.store:AcmeStore')"
                )
            entry = importlib.metadata.EntryPoint(name=key, value=target, group=self.group)
            loader: Callable[[], Any] = entry.load
        elif callable(target):
            loader = _constant(target)
        else:
            raise ValidationError(
                f"target: a {type(target).__name__} is not a plugin "
                "(expected a class, a function, or 'module:attribute')"
            )
        with self._lock:
            self._registered[key] = loader

    def unregister(self, name: str) -> None:
        """Forget what `register` registered as *name*; nothing happens if nothing was."""
        with self._lock:
            self._registered.pop(name.lower(), None)

    # -- finding -----------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every name a plugin answers to: registered, built in, or declared by a package."""
        with self._lock:
            registered = set(self._registered)
        return sorted(registered | set(self._builtins) | set(self._entry_points()))

    def load(self, name: str) -> Any:
        """
        The plugin named *name* (names are case-insensitive).

        Raises:
            PluginNotFoundError: If no plugin has that name, or a built-in one needs an extra
                that is not installed (the group's subclass, e.g. `StoreNotFoundError`).
            PluginError: If two distributions declare the name, or its module fails to import.
        """
        key = name.lower()
        with self._lock:
            loader = self._registered.get(key)
        if loader is not None:
            return loader()
        builtin = self._builtins.get(key)
        if builtin is not None:
            return self._load_builtin(key, builtin)
        return self._load_declared(key)

    def _load_builtin(self, name: str, builtin: Builtin) -> Any:
        if builtin.extra is not None and not all(map(_importable, builtin.requires)):
            raise self._not_found(name, self.names(), builtin.extra)
        module, _, attribute = builtin.target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def _load_declared(self, name: str) -> Any:
        entries = self._entry_points().get(name, [])
        if not entries:
            raise self._not_found(name, self.names(), None)
        if len(entries) > 1:
            claims = " and ".join(_describe(entry) for entry in entries)
            raise PluginError(
                f"{self.group} {name!r} is declared by more than one distribution: {claims}; "
                "uninstall one, or register the one to use in this process",
                group=self.group,
                name=name,
            )
        [entry] = entries
        try:
            return entry.load()
        except Exception as exc:  # a plugin's own failure, whatever it is, is named here
            raise PluginError(
                f"{self.group} {name!r} from {_describe(entry)} failed to load: "
                f"{type(exc).__name__}: {exc}",
                group=self.group,
                name=name,
            ) from exc

    def _entry_points(self) -> dict[str, list[importlib.metadata.EntryPoint]]:
        """The group's entry points by name, one per target (a path listed twice is one)."""
        if os.environ.get(AUTOLOAD_OFF, "") not in {"", "0"}:
            return {}
        found: dict[str, dict[str, importlib.metadata.EntryPoint]] = {}
        for entry in importlib.metadata.entry_points(group=self.group):
            found.setdefault(entry.name.lower(), {}).setdefault(entry.value, entry)
        return {name: list(by_target.values()) for name, by_target in found.items()}


def _checked_name(name: str) -> str:
    try:
        key = name.lower()
    except AttributeError:  # not a string
        key = ""
    if not _NAME.fullmatch(key):
        raise ValidationError(
            f"name: {name!r} is not a plugin name (a letter, then letters, digits, "
            "'+', '.', '_' or '-'; at most 63)"
        )
    return key


def _constant(target: object) -> Callable[[], object]:
    return lambda: target


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent missing; or set to None in sys.modules
        return False


def _describe(entry: importlib.metadata.EntryPoint) -> str:
    dist = entry.dist
    where = f"{dist.name} {dist.version}" if dist is not None else "an unnamed distribution"
    return f"{where} ({entry.value})"


def _store_not_found(name: str, available: Sequence[str], extra: str | None) -> PluginNotFoundError:
    return StoreNotFoundError(name, available, extra=extra)


def _connector_not_found(
    name: str, available: Sequence[str], extra: str | None
) -> PluginNotFoundError:
    return ConnectorNotFoundError(name, available, extra=extra)


_POSTGRES = Builtin(
    "omnikit.stores.postgres:PostgresStore", extra="postgres", requires=("psycopg",)
)

STORES = PluginLoader(
    "omnikit.stores",
    builtins={
        "memory": Builtin("omnikit.stores.memory:MemoryStore"),
        "sqlite": Builtin("omnikit.stores.sqlite:SQLiteStore"),
        "postgresql": _POSTGRES,
        "postgres": _POSTGRES,
        "postgresql+psycopg": _POSTGRES,
    },
    not_found=_store_not_found,
)
"""Stores by URL scheme: a class with `from_url(url)`, or a callable taking the URL."""

CONNECTORS = PluginLoader(
    "omnikit.connectors",
    builtins={
        "memory": Builtin("omnikit.connectors.memory:MemoryConnector"),
        "console": Builtin("omnikit.connectors.console:ConsoleConnector"),
        "twilio": Builtin("omnikit.connectors.twilio:TwilioConnector"),
        "twilio+whatsapp": Builtin("omnikit.connectors.twilio:TwilioConnector"),
        "whatsapp": Builtin("omnikit.connectors.whatsapp:WhatsAppConnector"),
        "webhook": Builtin("omnikit.connectors.webhook:WebhookConnector"),
        "smtp": Builtin("omnikit.connectors.smtp:SMTPConnector"),
        "smtps": Builtin("omnikit.connectors.smtp:SMTPConnector"),
        "sendgrid": Builtin("omnikit.connectors.sendgrid:SendGridConnector"),
        "fcm": Builtin(
            "omnikit.connectors.fcm:FCMConnector", extra="fcm", requires=("cryptography",)
        ),
        "slack": Builtin("omnikit.connectors.slack:SlackConnector"),
    },
    not_found=_connector_not_found,
)
"""Channel connectors by name: a class with `from_url(url)`, or a callable taking options."""

ANALYTICS = PluginLoader("omnikit.analytics")
"""Analytics backends by name (none built in yet)."""
