"""
Test helpers for applications built on omnikit, and for authors of stores and plugins.

- `FrozenClock`: a clock that moves only when told to;
- `StoreContract`: the contract every `omnikit.stores.Store` passes; subclass it in your tests
  with a `store` fixture to check your own store;
- pytest fixtures `omnikit_hub` and `omnikit_clock`, registered automatically when omnikit is
  installed (see `omnikit.testing._plugin`).
"""

from omnikit.testing._clock import FrozenClock
from omnikit.testing._contract import StoreContract

__all__ = ["FrozenClock", "StoreContract"]
