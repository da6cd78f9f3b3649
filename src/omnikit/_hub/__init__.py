"""
The hub: the facade a host application instantiates, and what drives it.

- `_core`: `_HubCore`, the configuration and the verbs' pure parts;
- `_base`: `_SyncCore`, the core over a synchronous store (lookups, transactions, what the
  hub records about a customer), which every group of verbs builds on;
- `sync`: `Hub`, with the ingestion and reading verbs; `personalize` and `privacy`: the
  personalization and privacy verbs `Hub` gathers;
- `flows`: `drive` and `adrive`, which run the engines' flows over a transaction;
- `aio`: `AsyncHub`.
"""

from omnikit._hub._core import CustomerRef
from omnikit._hub.aio import AsyncHub
from omnikit._hub.sync import Hub

__all__ = ["AsyncHub", "CustomerRef", "Hub"]
