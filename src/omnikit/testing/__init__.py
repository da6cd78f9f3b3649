"""
Test helpers for applications built on omnikit, and for authors of stores and plugins.

- `FrozenClock`: a clock that moves only when told to;
- `Retailer`: a deterministic simulated retailer whose customers move across channels, as
  Segment Spec messages (`omnikit.testing.retailer`);
- `StoreContract`: the contract every `omnikit.stores.Store` passes; subclass it in your tests
  with a `store` fixture to check your own store (it needs pytest, and loads only when used);
- `AsyncStoreContract`: the same, and more, for an `omnikit.stores.AsyncStore`; subclass it
  with an `open_async_store` fixture;
- `ConnectorContract`: the contract every channel connector passes; subclass it with
  `connector` and `rendition` fixtures (and `webhook` for a connector that hears webhooks);
- pytest fixtures `omnikit_hub` and `omnikit_clock`, registered automatically when omnikit is
  installed (see `omnikit.testing._plugin`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnikit.testing._clock import FrozenClock
from omnikit.testing.retailer import Retailer

if TYPE_CHECKING:
    from omnikit.testing._async_contract import AsyncStoreContract
    from omnikit.testing._connector_contract import ConnectorContract
    from omnikit.testing._contract import StoreContract

__all__ = ["AsyncStoreContract", "ConnectorContract", "FrozenClock", "Retailer", "StoreContract"]


def __getattr__(name: str) -> Any:
    if name == "StoreContract":  # a pytest suite: only its users need pytest installed
        from omnikit.testing._contract import StoreContract  # noqa: PLC0415

        return StoreContract
    if name == "AsyncStoreContract":
        from omnikit.testing._async_contract import AsyncStoreContract  # noqa: PLC0415

        return AsyncStoreContract
    if name == "ConnectorContract":
        from omnikit.testing._connector_contract import ConnectorContract  # noqa: PLC0415

        return ConnectorContract
    msg = f"module 'omnikit.testing' has no attribute {name!r}"
    raise AttributeError(msg)
