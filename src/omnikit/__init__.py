"""
omnikit: the machinery of an omnichannel customer experience, as a library.

One customer across web, app, email, SMS, push, chat, social, the call centre and the store:
ingest their touchpoints, stitch their identifiers into one profile, and read them back.
"""

from omnikit import analytics, connectors, converters, errors, rules, stores
from omnikit._engines.identity import IdentityRules
from omnikit._engines.outbox import Backoff
from omnikit._engines.policy import ContactPolicy, FrequencyCap
from omnikit._engines.render import render
from omnikit._engines.sms import sms_segments
from omnikit._hub import AsyncHub, CustomerRef, Hub
from omnikit._models.channels import BUILTIN_CHANNELS, Channel, ChannelKind
from omnikit._models.consent import Consent, Preferences, Purpose, QuietHours
from omnikit._models.customers import ChannelStats, Customer, LinkRecord, MergeRecord, Stats
from omnikit._models.identities import Identity, IdentityKind
from omnikit._models.message import Brand, CallToAction, ChannelOverride, Message, SmsInfo
from omnikit._models.orders import (
    Fulfilment,
    FulfilmentOption,
    FulfilmentStatus,
    LineItem,
    Order,
    OrderStatus,
    Product,
)
from omnikit._models.outbound import Delivery, DeliveryStatus, Guarantee
from omnikit._models.results import (
    DispatchReport,
    ForgetReport,
    IngestResult,
    LoadRejection,
    LoadReport,
    ReceiveReport,
    Rejection,
)
from omnikit._models.touchpoints import (
    Context,
    Direction,
    EcommerceEvent,
    Location,
    Touchpoint,
    TouchpointType,
    Trust,
)
from omnikit.errors import (
    ConflictError,
    ConnectorError,
    ConnectorNotFoundError,
    DeliveryError,
    NotFoundError,
    OmnikitError,
    PermanentDeliveryError,
    PluginError,
    PluginNotFoundError,
    PolicyError,
    ReplayError,
    RuleError,
    RuleLimitError,
    RuleSyntaxError,
    SignatureError,
    StoreError,
    StoreNotFoundError,
    StoreRefusedError,
    StoreUnavailableError,
    TransientDeliveryError,
    ValidationError,
)

__all__ = [
    "AsyncHub",
    "BUILTIN_CHANNELS",
    "Backoff",
    "Brand",
    "CallToAction",
    "Channel",
    "ChannelKind",
    "ChannelOverride",
    "ChannelStats",
    "ConflictError",
    "ConnectorError",
    "ConnectorNotFoundError",
    "Consent",
    "ContactPolicy",
    "Context",
    "Customer",
    "CustomerRef",
    "Delivery",
    "DeliveryError",
    "DeliveryStatus",
    "Direction",
    "DispatchReport",
    "EcommerceEvent",
    "ForgetReport",
    "FrequencyCap",
    "Fulfilment",
    "FulfilmentOption",
    "FulfilmentStatus",
    "Guarantee",
    "Hub",
    "Identity",
    "IdentityKind",
    "IdentityRules",
    "IngestResult",
    "LineItem",
    "LinkRecord",
    "LoadRejection",
    "LoadReport",
    "Location",
    "MergeRecord",
    "Message",
    "NotFoundError",
    "OmnikitError",
    "Order",
    "OrderStatus",
    "PermanentDeliveryError",
    "PluginError",
    "PluginNotFoundError",
    "PolicyError",
    "Preferences",
    "Product",
    "Purpose",
    "QuietHours",
    "ReceiveReport",
    "Rejection",
    "ReplayError",
    "RuleError",
    "RuleLimitError",
    "RuleSyntaxError",
    "SignatureError",
    "SmsInfo",
    "Stats",
    "StoreError",
    "StoreNotFoundError",
    "StoreRefusedError",
    "StoreUnavailableError",
    "Touchpoint",
    "TouchpointType",
    "TransientDeliveryError",
    "Trust",
    "ValidationError",
    "analytics",
    "connectors",
    "converters",
    "errors",
    "render",
    "rules",
    "sms_segments",
    "stores",
]


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415 - read lazily, only when asked

        return version("omnikit")
    if name == "simulate":
        import importlib  # noqa: PLC0415

        return importlib.import_module("omnikit.simulate")
    msg = f"module 'omnikit' has no attribute {name!r}"
    raise AttributeError(msg)
