"""
The hub: the facade a host application instantiates, and what drives it.

- `_core`: `_HubCore`, the configuration and the verbs' pure parts; no store;
- `flows`: the store requests a verb's flow yields, and the two drivers, `drive` (sync) and
  `adrive` (awaited), which answer them from a store or a transaction (and `drive_pages`,
  `adrive_pages`, for a verb that streams);
- `_base`: `_FlowCore`, the flows every verb is made of (lookups, writes, segments), and
  `_run`, the one hook through which a verb has its flow run;
- `ingestion`, `personalize`, `privacy`: the verbs, each written once as a flow;
- `sync`: `Hub`, which drives each verb's flow over a sync store;
- `aio`: `AsyncHub`, which awaits each verb's flow over an async store, or runs the `Hub`
  verb in a worker thread over a sync one.
"""

from omnikit._hub._core import CustomerRef
from omnikit._hub.aio import AsyncHub
from omnikit._hub.sync import Hub

__all__ = ["AsyncHub", "CustomerRef", "Hub"]
