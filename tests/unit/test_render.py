"""One message rendered for each channel, within its limits: errors before sending, never cuts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from omnikit import Brand, CallToAction, ChannelOverride, Message, render, sms_segments
from omnikit.connectors import TemplateRef
from omnikit.errors import ValidationError

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
BRAND = Brand(
    name="Lisbon Boots",
    snippets={"footer": "{{ brand.name }}, Rua Augusta 1, Lisboa"},
    senders={"email": "orders@boots.example", "sms": "LisbonBoot"},
)
ORDER = Message(
    subject="Order {{ order_id }} ships today",
    body="Hi {{ first_name }}, order {{ order_id }} ships today.\n{% render 'footer' %}",
    html=(
        "<html><body><p>Hi {{ first_name }},</p><p>Order {{ order_id }} ships today.</p>"
        "<p>{% render 'footer' %}</p></body></html>"
    ),
    call_to_action=CallToAction(label="Track it", url="https://shop.example/o/{{ order_id }}"),
    overrides={"sms": ChannelOverride(body="Order {{ order_id }} ships today.")},
    templates={
        "whatsapp": TemplateRef(
            name="order_shipped",
            language="en_US",
            parameters=("{{ first_name }}", "{{ order_id }}"),
        )
    },
)
ANA = {"first_name": "Ana", "order_id": "A-1"}


def _render(message: Message, channel: str, **options: Any) -> Any:
    options.setdefault("to", "ana@example.com" if channel == "email" else "+351912345678")
    options.setdefault("variables", ANA)
    options.setdefault("brand", BRAND)
    options.setdefault("now", NOW)
    return render(message, channel, **options)


def test_email_has_subject_html_text_and_sender() -> None:
    """The subject, the HTML with the brand's footer and the link, the text part, the sender."""
    rendition = _render(ORDER, "email")

    assert "Order A-1 ships today" == rendition.subject
    assert "<p>Lisbon Boots, Rua Augusta 1, Lisboa</p>" in rendition.html
    assert '<a href="https://shop.example/o/A-1">Track it</a>' in rendition.html
    assert rendition.text.endswith("Lisboa\n\nTrack it: https://shop.example/o/A-1")
    assert "orders@boots.example" == rendition.sender


def test_variables_are_escaped_in_html_and_not_in_text() -> None:
    """A name with markup is text in the HTML part, and as written in the plain part."""
    rendition = _render(ORDER, "email", variables={**ANA, "first_name": "<b>Ana</b> & co"})

    assert "Hi &lt;b&gt;Ana&lt;/b&gt; &amp; co," in rendition.html
    assert "<b>Ana</b>" not in rendition.html
    assert rendition.text.startswith("Hi <b>Ana</b> & co,")


def test_the_text_part_comes_from_the_html_when_there_is_no_body() -> None:
    """Paragraphs, list items, links with their address; entities decoded, scripts gone."""
    message = Message(
        subject="News",
        html=(
            "<html><head><style>p {color: red}</style></head><body>"
            "<h1>Autumn &amp; boots</h1><p>Hello {{ first_name }}</p>"
            "<ul><li>Boots</li><li>Socks</li></ul>"
            '<p><a href="https://shop.example/new">New in</a></p><script>x()</script>'
            "</body></html>"
        ),
    )

    text = _render(message, "email").text

    assert (
        "Autumn & boots\n\nHello Ana\n\n- Boots\n- Socks\n\nNew in (https://shop.example/new)"
        == text
    )


def test_an_email_needs_a_one_line_subject() -> None:
    """No subject, or a variable that would start a new header: errors naming the subject."""
    with pytest.raises(ValidationError, match=r"^subject: an email needs a subject$"):
        _render(Message(body="Hi"), "email")
    with pytest.raises(ValidationError, match="subject: an email subject is one line"):
        _render(
            Message(subject="Hi {{ first_name }}", body="x"),
            "email",
            variables={"first_name": "Ana\r\nBcc: all@example.com"},
        )
    with pytest.raises(ValidationError, match=r"subject: 999 characters; .* at most 998"):
        _render(Message(subject="x" * 999, body="x"), "email")


def test_the_link_is_not_added_twice() -> None:
    """A template that places the link itself keeps it where it is, once."""
    message = Message(
        subject="s",
        body="Track: https://shop.example/o/{{ order_id }}",
        html='<a href="https://shop.example/o/{{ order_id }}">here</a>',
        call_to_action=CallToAction(label="Track", url="https://shop.example/o/{{ order_id }}"),
    )

    rendition = _render(message, "email")

    assert 1 == rendition.text.count("https://shop.example/o/A-1")
    assert 1 == rendition.html.count("https://shop.example/o/A-1")


def test_a_link_must_be_a_web_mail_or_phone_link() -> None:
    """A `javascript:` link, from a variable or not, never reaches an email."""
    message = Message(
        subject="s", body="b", call_to_action=CallToAction(label="Go", url="{{ link }}")
    )

    with pytest.raises(ValidationError, match=r"call_to_action\.url: .* not an http\(s\)"):
        _render(message, "email", variables={"link": "javascript:alert(1)"})


def test_sms_uses_its_override_and_drops_what_sms_cannot_carry() -> None:
    """The SMS override's text with the link on its own line; no subject, no HTML."""
    rendition = _render(ORDER, "sms")

    assert "Order A-1 ships today.\nTrack it: https://shop.example/o/A-1" == rendition.text
    assert rendition.subject is None
    assert rendition.html is None
    assert "LisbonBoot" == rendition.sender


def test_too_many_segments_is_an_error_naming_the_field_and_the_limit() -> None:
    """Past the brand's segments, an error; the text is never cut to fit."""
    message = Message(body="x", overrides={"sms": ChannelOverride(body="{{ text }}")})
    brand = Brand(max_sms_segments=2)

    ok = _render(message, "sms", variables={"text": "a" * 306}, brand=brand)
    assert 2 == sms_segments(ok.text).segments

    with pytest.raises(ValidationError) as caught:
        _render(message, "sms", variables={"text": "a" * 307}, brand=brand)
    assert (
        "overrides.sms.body: 3 SMS segments (GSM-7, 307 characters); the brand allows at most 2",
    ) == caught.value.errors


def test_the_error_says_which_character_makes_an_sms_ucs2() -> None:
    """A curly quote: the error names it and says transliteration would help."""
    text = "It\u2019s " + "a" * 150

    with pytest.raises(ValidationError) as caught:
        _render(Message(body=text), "sms", brand=Brand(max_sms_segments=1))

    assert "'\u2019' makes it UCS-2" in str(caught.value)
    assert "Brand(transliterate=True) would make it GSM-7" in str(caught.value)


def test_a_brand_that_transliterates_sends_gsm7() -> None:
    """With the brand's opt-in, a curly quote costs one segment instead of three."""
    text = "It\u2019s \u201cready\u201d \u2014 " + "a" * 140
    brand = Brand(transliterate=True, max_sms_segments=1)

    rendition = _render(Message(body=text), "sms", brand=brand)

    assert rendition.text.startswith('It\'s "ready" - ')
    assert "GSM-7" == sms_segments(rendition.text).encoding
    assert 3 == sms_segments(text).segments


def test_ten_segments_is_the_default_limit() -> None:
    """1,530 GSM-7 characters pass; 1,531 are an eleventh segment."""
    assert _render(Message(body="a" * 1530), "sms").text
    with pytest.raises(ValidationError, match=r"11 SMS segments .* at most 10"):
        _render(Message(body="a" * 1531), "sms")


def test_push_has_a_title_a_body_and_text_data() -> None:
    """The subject is the title; data values are text; the link travels in the data."""
    message = Message(
        subject="Shipped",
        body="Order {{ order_id }}",
        data={"order_id": "{{ order_id }}", "screen": "orders"},
        call_to_action=CallToAction(label="Track", url="https://shop.example/o/1"),
    )

    rendition = _render(message, "push", to="device-token")

    assert "Shipped" == rendition.subject
    assert "Order A-1" == rendition.text
    assert {
        "order_id": "A-1",
        "screen": "orders",
        "cta_url": "https://shop.example/o/1",
        "cta_label": "Track",
    } == dict(rendition.data)


def test_a_push_payload_past_4096_bytes_is_an_error() -> None:
    """FCM's 4096 bytes count bytes: 2,000 two-byte characters are too many."""
    message = Message(subject="Hi", body="{{ text }}")

    assert _render(message, "push", to="t", variables={"text": "é" * 2000}).text
    with pytest.raises(
        ValidationError, match=r"^body: the push payload would be 4802 bytes .* 4096$"
    ):
        _render(message, "push", to="t", variables={"text": "é" * 2400})


def test_push_data_keys_fcm_reserves_are_refused() -> None:
    """`from` and keys starting with `google` are FCM's own."""
    with pytest.raises(ValidationError, match=r"data\.google\.x: FCM reserves this key"):
        _render(Message(body="b", data={"google.x": "1"}), "push", to="t")


def test_whatsapp_is_free_text_within_24_hours_of_the_last_inbound_message() -> None:
    """The customer wrote two hours ago: the body goes as text."""
    rendition = _render(ORDER, "whatsapp", last_inbound_at=NOW - dt.timedelta(hours=2))

    assert rendition.text.startswith("Hi Ana, order A-1 ships today.")
    assert rendition.template is None


@pytest.mark.parametrize("last", [None, NOW - dt.timedelta(hours=24)])
def test_whatsapp_outside_the_window_sends_the_approved_template(last: dt.datetime | None) -> None:
    """Never or 24 hours ago: the template, its parameters rendered; no free text."""
    rendition = _render(ORDER, "whatsapp", last_inbound_at=last)

    assert TemplateRef(name="order_shipped", language="en_US", parameters=("Ana", "A-1")) == (
        rendition.template
    )
    assert "" == rendition.text


def test_whatsapp_outside_the_window_without_a_template_is_an_error() -> None:
    """The error says why and what to do: name a template for WhatsApp."""
    message = Message(body="Hi")
    last = NOW - dt.timedelta(days=3)

    with pytest.raises(ValidationError) as caught:
        _render(message, "whatsapp", last_inbound_at=last)

    assert (
        (
            "templates.whatsapp: WhatsApp allows free-form text only within 24 hours of the "
            "customer's last inbound message (the last was at 2026-10-30T09:30:00+00:00); name "
            "an approved template for 'whatsapp' in Message.templates"
        ),
    ) == caught.value.errors


def test_whatsapp_text_past_4096_characters_is_an_error() -> None:
    """Within the window the body may be at most 4096 characters."""
    recent = NOW - dt.timedelta(minutes=5)
    message = Message(body="{{ text }}")

    assert _render(message, "whatsapp", variables={"text": "a" * 4096}, last_inbound_at=recent)
    with pytest.raises(
        ValidationError, match=r"^body: 4097 characters; WhatsApp takes at most 4096$"
    ):
        _render(message, "whatsapp", variables={"text": "a" * 4097}, last_inbound_at=recent)


def test_an_empty_template_parameter_is_an_error() -> None:
    """WhatsApp refuses empty parameters with a 400: we refuse them first."""
    message = Message(templates={"whatsapp": TemplateRef(name="t", parameters=("{{ x }}",))})

    with pytest.raises(ValidationError, match=r"templates\.whatsapp\.parameters\[0\]: empty"):
        _render(message, "whatsapp", variables={"x": " "})


def test_other_channels_get_the_content_as_it_is() -> None:
    """A chat message: text with the link, subject and HTML passed along."""
    rendition = _render(ORDER, "chat", to="C0123")

    assert rendition.text.endswith("Track it: https://shop.example/o/A-1")
    assert "Order A-1 ships today" == rendition.subject


def test_variables_given_win_over_the_message_own_and_the_customer_is_readable() -> None:
    """Message variables are defaults; `customer` is the context; `now` is the given moment."""
    message = Message(
        body="{{ offer }} {{ customer.traits.tier }} {{ now | date: '%Y-%m-%d' }} "
        "{{ 'now' | date: '%H:%M' }} {{ today | date: '%d/%m' }}",
        variables={"offer": "BOOTS10"},
    )

    rendition = _render(
        message,
        "sms",
        variables={"offer": "BOOTS15"},
        customer_context={"traits": {"tier": "gold"}},
    )

    assert "BOOTS15 gold 2026-11-02 09:30 02/11" == rendition.text


def test_a_missing_variable_is_an_error_naming_it_and_the_field() -> None:
    """No silent blanks: the field, the variable and the line."""
    with pytest.raises(ValidationError) as caught:
        _render(ORDER, "sms", variables={"first_name": "Ana"})

    assert ("overrides.sms.body: 'order_id' is undefined (line 1)",) == caught.value.errors


def test_a_default_filter_fills_a_missing_variable() -> None:
    """The template says what to write when a value is missing."""
    message = Message(body="Hi {{ first_name | default: 'there' }}")

    assert "Hi there" == _render(message, "sms", variables={}).text


def test_reserved_and_unsupported_variables_are_refused() -> None:
    """`brand` is the brand's; a Python object is not data."""
    with pytest.raises(ValidationError, match=r"variables\.brand: reserved"):
        _render(ORDER, "sms", variables={**ANA, "brand": "x"})
    with pytest.raises(ValidationError, match=r"customer_context\.x: .* not personalization data"):
        _render(ORDER, "sms", customer_context={"x": object()})


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"to": ""}, "to: the recipient's address is empty"),
        ({"to": "a@b.c\r\nBcc: x@y.z"}, "to: .* is not an address"),
        ({"now": dt.datetime(2026, 1, 1)}, "now: expected a datetime with a UTC offset"),
        ({"last_inbound_at": dt.datetime(2026, 1, 1)}, "last_inbound_at: expected"),
    ],
)
def test_arguments_are_checked(options: dict[str, Any], error: str) -> None:
    """An empty or multi-line address, a naive moment: errors naming the argument."""
    with pytest.raises(ValidationError, match=error):
        _render(ORDER, "email", **options)


def test_an_empty_message_is_an_error() -> None:
    """Nothing to say on a channel is said before sending."""
    with pytest.raises(ValidationError, match="body: the message is empty on sms"):
        _render(Message(body="{{ x }}"), "sms", variables={"x": "  "})


def test_plain_text_renders_without_looking_for_markup() -> None:
    """Text without Liquid markup is sent as written, braces and percent signs included."""
    message = Message(body="50% off {boots} } {")

    assert "50% off {boots} } {" == _render(message, "sms").text
