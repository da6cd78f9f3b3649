"""The taxonomy of channels a customer meets the brand on."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator, Mapping

import attrs

from omnikit.errors import ValidationError

__all__ = ["BUILTIN_CHANNELS", "Channel", "ChannelKind", "Channels"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ChannelKind(enum.StrEnum):
    """
    Whether a channel is met on a screen or network, or in person.

    Added in version 0.1.0.
    """

    DIGITAL = "digital"
    PHYSICAL = "physical"
    VOICE = "voice"


def _check_name(_instance: object, _attribute: object, value: str) -> None:
    if not _NAME.match(value):
        raise ValidationError(
            f"name: {value!r} is not a channel name (lower-case letters, digits and '_', "
            "starting with a letter, at most 40 characters)"
        )


@attrs.define(frozen=True, kw_only=True)
class Channel:
    """
    One channel: where a touchpoint happened or a message can go.

    Attributes:
        name: The identifier used in events and rules (`"web"`, `"store"`).
        kind: Digital, physical (a store, a kiosk) or voice (the call centre).
        inbound: Customers can reach the brand on it (they browse, buy, call, reply).
        outbound: The brand can start a conversation on it (send an email, an SMS, a push).
        label: A human-readable name for reports.

    Added in version 0.1.0.
    """

    name: str = attrs.field(validator=_check_name)
    kind: ChannelKind = ChannelKind.DIGITAL
    inbound: bool = True
    outbound: bool = False
    label: str = ""

    @property
    def title(self) -> str:
        """The label, or the name made readable."""
        return self.label or self.name.replace("_", " ").capitalize()


_D, _P, _V = ChannelKind.DIGITAL, ChannelKind.PHYSICAL, ChannelKind.VOICE

BUILTIN_CHANNELS: tuple[Channel, ...] = (
    Channel(name="web", kind=_D, label="Web"),
    Channel(name="app", kind=_D, label="Mobile app"),
    Channel(name="email", kind=_D, outbound=True, label="Email"),
    Channel(name="sms", kind=_D, outbound=True, label="SMS"),
    Channel(name="push", kind=_D, inbound=False, outbound=True, label="Push notification"),
    Channel(name="in_app", kind=_D, inbound=False, outbound=True, label="In-app message"),
    Channel(name="whatsapp", kind=_D, outbound=True, label="WhatsApp"),
    Channel(name="chat", kind=_D, outbound=True, label="Live chat"),
    Channel(name="social", kind=_D, outbound=True, label="Social media"),
    Channel(name="phone", kind=_V, outbound=True, label="Call centre"),
    Channel(name="store", kind=_P, label="Store"),
    Channel(name="kiosk", kind=_P, label="Kiosk"),
    Channel(name="direct_mail", kind=_P, inbound=False, outbound=True, label="Direct mail"),
    Channel(name="webhook", kind=_D, outbound=True, label="Webhook"),  # the host's own systems
)
"""The channels every hub knows; a hub's *channels* argument adds more."""


class Channels(Mapping[str, Channel]):
    """
    The channels a hub knows, by name: the built-ins plus any the host or a plugin adds.

    Added in version 0.1.0.
    """

    __slots__ = ("_by_name",)

    def __init__(self, extra: Iterable[Channel] = ()) -> None:
        self._by_name: dict[str, Channel] = {c.name: c for c in BUILTIN_CHANNELS}
        for item in extra:
            channel: object = item
            if not isinstance(channel, Channel):
                msg = f"channels: expected a Channel, got {type(channel).__name__}"
                raise ValidationError(msg)
            self._by_name[channel.name] = channel

    def __getitem__(self, name: str) -> Channel:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def require(self, name: object, *, field: str = "channel") -> str:
        """
        Return *name* if it is a known channel, else raise `ValidationError` naming *field*.

        Added in version 0.1.0.
        """
        if isinstance(name, str) and name in self._by_name:
            return name
        known = ", ".join(sorted(self._by_name))
        raise ValidationError(f"{field}: unknown channel {name!r} (known: {known})")
