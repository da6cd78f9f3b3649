"""A message and a brand are data: validated when made, saved to JSON or YAML and loaded back."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import yaml

import omnikit
from omnikit import Brand, CallToAction, ChannelOverride, Message, converters
from omnikit.connectors import TemplateRef
from omnikit.errors import ValidationError

MESSAGE = Message(
    subject="Order {{ order_id }} ships today",
    body="Hi {{ first_name | default: 'there' }}, order {{ order_id }} ships today.",
    html="<p>Hi {{ first_name }}</p>{% render 'footer' %}",
    media=("https://cdn.example/boots.jpg",),
    call_to_action=CallToAction(label="Track it", url="https://shop.example/o/{{ order_id }}"),
    data={"order_id": "{{ order_id }}"},
    variables={"offer": "BOOTS15", "tiers": ["gold", "silver"], "n": 3, "ok": True},
    overrides={
        "sms": ChannelOverride(body="Order {{ order_id }} ships today."),
        "push": ChannelOverride(subject="Shipped", media=(), data={"screen": "orders"}),
    },
    templates={
        "whatsapp": TemplateRef(
            name="order_shipped", language="en_US", parameters=("{{ first_name }}",)
        )
    },
)
BRAND = Brand(
    name="Lisbon Boots",
    snippets={"footer": "{{ brand.name }}, Rua Augusta 1", "sign-off": "Obrigado!"},
    senders={"email": "orders@boots.example", "sms": "LisbonBoot"},
    transliterate=True,
    max_sms_segments=3,
)


def test_a_message_round_trips_through_json() -> None:
    """Unstructured, dumped to JSON, loaded and structured: the same message."""
    data = json.loads(json.dumps(converters.default_converter().unstructure(MESSAGE)))

    assert MESSAGE == converters.structure(data, Message)


def test_a_message_and_a_brand_round_trip_through_yaml() -> None:
    """Messages and brands can live in YAML files in Git, like rule sets."""
    conv = converters.default_converter()
    text = yaml.safe_dump({"message": conv.unstructure(MESSAGE), "brand": conv.unstructure(BRAND)})

    loaded = yaml.safe_load(text)

    assert MESSAGE == converters.structure(loaded["message"], Message)
    assert BRAND == converters.structure(loaded["brand"], Brand)


def test_a_message_loads_from_hand_written_yaml() -> None:
    """Only the fields a message needs are written; overrides and templates by channel."""
    text = """
subject: "Your order {{ order_id }}"
body: "Hi {{ first_name }}"
overrides:
  sms: {body: "Order {{ order_id }} shipped"}
templates:
  whatsapp: {name: order_shipped, language: en_US, parameters: ["{{ first_name }}"]}
"""
    message = converters.structure(yaml.safe_load(text), Message)

    assert "Order {{ order_id }} shipped" == message.overrides["sms"].body
    assert ("{{ first_name }}",) == message.templates["whatsapp"].parameters


def test_loading_names_each_bad_field() -> None:
    """An unknown field and a bad channel name are each reported with their path."""
    with pytest.raises(ValidationError) as caught:
        converters.structure({"body": "x", "colour": "red"}, Message)
    assert ("colour: unknown field",) == caught.value.errors

    with pytest.raises(ValidationError, match="'SMS!' is not a channel name"):
        converters.structure({"overrides": {"SMS!": {"body": "x"}}}, Message)


def test_variables_are_json_values_and_leave_reserved_names_alone() -> None:
    """No Python object reaches a template; `brand`, `customer`, `now`, `today` are taken."""
    with pytest.raises(ValidationError, match=r"variables\.offer\.code: object is not"):
        Message(variables={"offer": {"code": object()}})
    with pytest.raises(ValidationError, match=r"variables\.brand: reserved"):
        Message(variables={"brand": "x"})
    with pytest.raises(ValidationError, match=r"variables\.x: nan is not a finite number"):
        Message(variables={"x": float("nan")})

    assert {"when": dt.date(2026, 1, 2)} == Message(
        variables={"when": dt.date(2026, 1, 2)}
    ).variables


def test_sizes_and_shapes_are_checked_when_made() -> None:
    """A template past the size bound, a dict for an override: errors naming the field."""
    with pytest.raises(ValidationError, match="body: 500001 characters; a template takes"):
        Message(body="x" * 500_001)
    with pytest.raises(ValidationError, match=r"overrides\.sms: expected a ChannelOverride"):
        Message(overrides={"sms": {"body": "x"}})  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match=r"data\.k: expected text"):
        Message(data={"k": 1})  # type: ignore[dict-item]


def test_a_brand_checks_its_snippets_senders_and_segments() -> None:
    """Snippet names are file-like names, senders one printable line, segments 1 to 255."""
    with pytest.raises(ValidationError, match="is not a snippet name"):
        Brand(snippets={"../etc": "x"})
    with pytest.raises(ValidationError, match=r"senders\.sms: .* is not a sender"):
        Brand(senders={"sms": "Shop\r\nBcc: x"})
    with pytest.raises(ValidationError, match="max_sms_segments"):
        Brand(max_sms_segments=0)
    with pytest.raises(ValidationError, match="max_sms_segments"):
        Brand(max_sms_segments=True)


def test_the_public_names_are_exported() -> None:
    """The message, its parts, the brand and the SMS counter are at the top of the package."""
    assert omnikit.Message is Message
    assert callable(omnikit.sms_segments)
    assert callable(omnikit.render)
