"""
Rendering keeps its promises for any text: segments counted right, limits never passed, HTML
never carrying a value's markup.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from omnikit import Brand, ChannelOverride, Message, render, sms_segments
from omnikit._engines.render import EMAIL_MAX_SUBJECT, PUSH_MAX_BYTES, WHATSAPP_MAX_TEXT
from omnikit.connectors import Rendition
from omnikit.errors import ValidationError

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)

# The GSM 03.38 tables, written out again here, apart from the library's.
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = "\f^{}\\[~]|€"


def simple_segments(text: str) -> tuple[str, int, int]:
    """Encoding, segments and units, counted the plain way: fill parts, start a new one."""
    ucs2 = any(char not in BASIC and char not in EXTENSION for char in text)
    if ucs2:
        sizes = [len(char.encode("utf-16-le")) // 2 for char in text]
        single, part = 70, 67
    else:
        sizes = [2 if char in EXTENSION else 1 for char in text]
        single, part = 160, 153
    total = sum(sizes)
    if total == 0:
        return ("UCS-2" if ucs2 else "GSM-7"), 0, 0
    if total <= single:
        return ("UCS-2" if ucs2 else "GSM-7"), 1, total
    parts = [0]
    for size in sizes:
        if parts[-1] + size > part:
            parts.append(0)
        parts[-1] += size
    return ("UCS-2" if ucs2 else "GSM-7"), len(parts), total


def attempt(message: Message, channel: str, **options: Any) -> Rendition | ValidationError:
    """The rendition, or the error that refused it."""
    try:
        return render(message, channel, now=NOW, **options)
    except ValidationError as exc:
        return exc


def refused_for(result: Rendition | ValidationError, *reasons: str) -> bool:
    """Whether *result* is an error, for one of *reasons* only (else the test fails)."""
    if not isinstance(result, ValidationError):
        return False
    assert all(any(reason in error for reason in reasons) for error in result.errors), result
    return True


sms_texts = st.text(
    alphabet=st.one_of(
        st.sampled_from(BASIC),
        st.sampled_from(EXTENSION),
        st.sampled_from("\u2019\u201c\u201d\u2014çáõ€😀📦\u0301"),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    max_size=700,
)
mostly_gsm = st.text(
    alphabet=st.one_of(st.sampled_from(BASIC), st.sampled_from(EXTENSION)), max_size=700
)


@given(text=st.one_of(sms_texts, mostly_gsm))
def test_segments_match_a_plain_count(text: str) -> None:
    """Encoding, segments, units and characters as the plain count has them."""
    info = sms_segments(text)

    assert simple_segments(text) == (info.encoding, info.segments, info.units)
    assert len(text) == info.characters


@given(text=st.one_of(sms_texts, mostly_gsm), limit=st.integers(1, 5), plain=st.booleans())
def test_an_sms_never_passes_the_brand_limit(text: str, limit: int, plain: bool) -> None:
    """Rendered, the SMS is within the segments allowed; past them, an error, never a cut."""
    brand = Brand(max_sms_segments=limit, transliterate=plain)
    message = Message(overrides={"sms": ChannelOverride(body="{{ text }}")})
    rendition = attempt(message, "sms", to="+351912345678", variables={"text": text}, brand=brand)
    if refused_for(rendition, "the brand allows at most", "is empty"):
        return
    assert isinstance(rendition, Rendition)

    assert 1 <= sms_segments(rendition.text).segments <= limit
    assert rendition.text.strip() == rendition.text
    if not plain:  # line breaks come out as "\n", whichever were written
        assert text.replace("\r\n", "\n").replace("\r", "\n").strip() == rendition.text


@given(text=st.text(max_size=5000), size=st.integers(4000, 4200))
def test_whatsapp_text_never_passes_4096_characters(text: str, size: int) -> None:
    """Within the window, a text is at most 4096 characters, or an error."""
    body = text + "x" * max(size - len(text), 0)
    message = Message(body="{{ b }}")
    rendition = attempt(
        message, "whatsapp", to="+351912345678", variables={"b": body}, last_inbound_at=NOW
    )
    if refused_for(rendition, "WhatsApp takes at most 4096"):
        return
    assert isinstance(rendition, Rendition)

    assert len(rendition.text) <= WHATSAPP_MAX_TEXT


@given(
    title=st.text(max_size=300),
    body=st.text(max_size=3000),
    data=st.dictionaries(
        st.from_regex(r"[a-z]{1,12}", fullmatch=True), st.text(max_size=400), max_size=6
    ),
)
def test_a_push_payload_never_passes_4096_bytes(
    title: str, body: str, data: dict[str, str]
) -> None:
    """Title, body and data together fit FCM's 4096 bytes, or the rendering is an error."""
    message = Message(subject="{{ t }}", body="{{ b }}", data=dict.fromkeys(data, "{{ d }}"))
    variables = {"t": title, "b": body, "d": "".join(data.values())}
    rendition = attempt(message, "push", to="token", variables=variables)
    if refused_for(rendition, "FCM takes at most 4096", "is empty", "FCM reserves this key"):
        return
    assert isinstance(rendition, Rendition)

    used = sum(len(part.encode()) for part in (rendition.subject or "", rendition.text))
    used += sum(len(k.encode()) + len(v.encode()) for k, v in rendition.data.items())
    assert used <= PUSH_MAX_BYTES


@given(subject=st.text(max_size=1100))
def test_an_email_subject_is_one_line_within_998_characters(subject: str) -> None:
    """A subject with a line break or past the header limit is an error, never cut."""
    message = Message(subject="{{ s }}", body="b")
    rendition = attempt(message, "email", to="a@example.com", variables={"s": subject})
    if refused_for(rendition, "one line of printable text", "at most 998", "needs a subject"):
        return
    assert isinstance(rendition, Rendition)
    assert rendition.subject is not None
    assert len(rendition.subject) <= EMAIL_MAX_SUBJECT
    assert not re.search(r"[\x00-\x1f\x7f]", rendition.subject)


MARKUP = st.builds(
    lambda before, tag, after: f"{before}<{tag}{after}",
    st.text(alphabet="<>&\"' =/xyzXYZ", max_size=8),
    st.text(alphabet="xyzXYZ", min_size=1, max_size=4),
    st.text(alphabet="<>&\"' =/xyzXYZ()", max_size=12),
)
"""Values with markup in them: `<` then letters no template below ever writes after a `<`."""

HTML_TEMPLATES = [
    "<p>{{ v }}</p>",
    '<a href="https://shop.example/?q={{ v | url_encode }}" title="{{ v }}">{{ v }}</a>',
    "<p>{{ v | upcase }} {{ v | downcase | capitalize }} {{ v | strip }}</p>",
    "<p>{{ v | append: '!' | prepend: '<b>' }}</b></p>",
    "<p>{{ v | split: '<' | join: ' ' }} {{ v | split: ' ' | join: '<br>' }}</p>",
    "{% capture c %}<i>{{ v }}</i>{% endcapture %}<p>{{ c }} {{ c | strip_html }}</p>",
    "<p>{{ v | replace: 'x', 'y' }} {{ v | remove: 'z' | truncate: 10 }}</p>",
    "<p>{{ v | escape }} {{ v | escape_once }} {{ v | newline_to_br }}</p>",
    "{% if v contains '<' %}<p>{{ v | slice: 0, 3 }}</p>{% endif %}",
    "{% for part in parts %}<li>{{ part }}</li>{% endfor %}",
    "<p>{% render 'echo', v: v %}</p>",
    "<p>{{ missing | default: v }}</p>",
]


@given(value=MARKUP, template=st.sampled_from(HTML_TEMPLATES))
def test_html_never_carries_a_value_markup_unescaped(value: str, template: str) -> None:
    """Whatever the value and the filters, no `<` of a value reaches the HTML as markup."""
    brand = Brand(snippets={"echo": "<span>{{ v }}</span>"})
    message = Message(subject="s", html=template)

    rendition = render(
        message,
        "email",
        to="a@example.com",
        brand=brand,
        now=NOW,
        variables={"v": value, "parts": [value, value]},
    )

    assert rendition.html is not None
    assert value not in rendition.html
    assert not re.search(r"<[xyzXYZ]", rendition.html), rendition.html
