"""
Liquid templates are strict and bounded: hostile ones end quickly with an error.

Templates come from marketers and configuration files; variables from customers. No template
reaches Python's internals, reads the clock, or runs or grows without end.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

import pytest

from omnikit import Brand, ChannelOverride, Message, render
from omnikit._engines import templates
from omnikit.errors import PluginNotFoundError, ValidationError

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def _sms(body: str, *, brand: Brand | None = None, **variables: Any) -> str:
    message = Message(body=body)
    return render(
        message, "sms", to="+351912345678", variables=variables, brand=brand, now=NOW
    ).text


def _email_html(html: str, **variables: Any) -> str:
    message = Message(subject="s", html=html)
    rendition = render(message, "email", to="a@example.com", variables=variables, now=NOW)
    assert rendition.html is not None
    return rendition.html


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{{ self }}", "'self' is undefined"),
        ("{{ ''.__class__ }}", "expected end of expression"),
        ("{{ name.__class__ }}", r"name\.__class__ is undefined"),
        ("{{ name.__class__.__mro__ }}", r"name\.__class__ is undefined"),
        ("{{ name['__class__'] }}", r"name\.__class__ is undefined"),
        ("{{ customer.__dict__ }}", r"customer\.__dict__ is undefined"),
        ("{{ name.upper }}", r"name\.upper is undefined"),
        ("{% include '/etc/passwd' %}", "no snippet named '/etc/passwd'"),
        ("{% render '../../secrets' %}", "no snippet named '../../secrets'"),
        ("{{ name | safe }}", "unknown filter 'safe'"),
        ("{{ name | attr: '__class__' }}", "unknown filter 'attr'"),
    ],
)
def test_templates_reach_no_python_internals(template: str, error: str) -> None:
    """Attribute tricks find nothing: an undefined variable, a syntax error, no such thing."""
    with pytest.raises(ValidationError, match=f"^body: .*{error}"):
        _sms(template, name="Ana")


HOSTILE = [
    pytest.param("{% for i in (1..100000000) %}x{% endfor %}", "loop iteration limit", id="loop"),
    pytest.param(
        "{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}",
        "loop iteration limit",
        id="nested-loops",
    ),
    pytest.param(
        "{% tablerow i in (1..100000000) %}{% endtablerow %}", "loop iteration limit", id="tablerow"
    ),
    pytest.param("{{ (1..100000000) | join: ',' }}", "filter work limit", id="range-join"),
    pytest.param("{{ (1..100000000) | sum }}", "filter work limit", id="range-sum"),
    pytest.param("{% assign r = (1..100000000) %}{{ r | sort | size }}", "filter work", id="sort"),
    pytest.param(
        "{{ 'aaaa'" + " | replace: 'a', 'aaaaaaaa'" * 12 + " }}",
        "replace would build more than",
        id="replace-explosion",
    ),
    pytest.param(
        "{% assign s = 'aaaaaaaaaa' %}{% for i in (1..40) %}{% assign s = s | append: s %}"
        "{% endfor %}{{ s }}",
        "append built more than 1000000 characters",
        id="doubling",
    ),
    pytest.param(
        "{% capture s %}{% for i in (1..9999) %}"
        + "x" * 200
        + "{% endfor %}{% endcapture %}{{ s }}",
        "output stream limit",
        id="capture",
    ),
    pytest.param("{% render 'loop' %}", "maximum context depth", id="recursive-snippet"),
    pytest.param("{% if true %}" * 200 + "x" + "{% endif %}" * 200, "nest", id="deep-nesting"),
    pytest.param("{{ many | uniq | size }}", "filter work limit", id="quadratic-uniq"),
    pytest.param(
        "{% for i in (1..9999) %}{{ many | map: 'a' | size }}{% endfor %}",
        "filter work limit",
        id="work-in-a-loop",
    ),
]


@pytest.mark.parametrize(("template", "error"), HOSTILE)
def test_hostile_templates_end_quickly_with_an_error(template: str, error: str) -> None:
    """Loops, nesting, partials, output and filter work are bounded: an error within seconds."""
    brand = Brand(snippets={"loop": "{% render 'loop' %}"})
    many = [{"a": str(i)} for i in range(20_000)]
    started = time.perf_counter()

    with pytest.raises(ValidationError, match=error):
        _sms(template, brand=brand, many=many)

    assert time.perf_counter() - started < 5


def test_a_template_within_the_bounds_renders() -> None:
    """A thousand products, a few filters each: well inside every bound."""
    products = [{"name": f"Boot {i}", "price": i} for i in range(1000)]
    html = _email_html(
        "{% for p in products %}<li>{{ p.name | upcase }}: {{ p.price | times: 2 }}</li>"
        "{% endfor %}",
        products=products,
    )

    assert 1000 == html.count("<li>")


def test_no_filter_lets_a_value_out_unescaped_in_html() -> None:
    """Escaping filters, splitting and joining, capturing: the value stays escaped."""
    value = "<img src=x onerror=alert(1)>"
    html = _email_html(
        "{{ v }}|{{ v | upcase }}|{{ v | escape_once }}|{{ v | split: ' ' | join: ' ' }}|"
        "{% capture c %}{{ v }}{% endcapture %}{{ c }}|{{ '<p>' | append: v }}|"
        "{{ v | newline_to_br }}|{{ v | strip_html | default: v }}|{{ v | url_decode }}|"
        "{{ v | escapejs }}|{{ '<b>V</b>' | replace: 'V', v }}",
        v=value,
    )

    assert "<img" not in html.lower()


def test_snippets_speak_the_same_on_every_channel() -> None:
    """One footer, rendered in email HTML (escaped) and in SMS (as written)."""
    brand = Brand(name="Boots & Co", snippets={"footer": "{{ brand.name }}: reply STOP to stop"})
    message = Message(
        subject="s",
        body="Hi. {% render 'footer' %}",
        html="<p>Hi.</p><p>{% include 'footer' %}</p>",
    )
    email = render(message, "email", to="a@example.com", brand=brand, now=NOW)
    sms = render(message, "sms", to="+351912345678", brand=brand, now=NOW)

    assert "<p>Boots &amp; Co: reply STOP to stop</p>" in str(email.html)
    assert "Hi. Boots & Co: reply STOP to stop" == sms.text


def test_an_error_in_a_snippet_names_the_snippet() -> None:
    """The field that rendered it, the snippet, the line in it."""
    brand = Brand(snippets={"footer": "Bye\n{{ signature }}"})

    with pytest.raises(ValidationError) as caught:
        render(
            Message(body="x", overrides={"sms": ChannelOverride(body="{% render 'footer' %}")}),
            "sms",
            to="+351912345678",
            brand=brand,
            now=NOW,
        )

    assert (
        "overrides.sms.body: 'signature' is undefined (in snippet 'footer', line 2)",
    ) == caught.value.errors


def test_the_clock_is_never_read() -> None:
    """`now`, `today` and the `date` filter's "now" are the moment rendering was given."""
    text = _sms("{{ now }}|{{ today }}|{{ 'now' | date: '%Y' }}|{{ 'today' | date: '%Y' }}")

    assert "2026-11-02 09:30:00+00:00|2026-11-02|2026|2026" == text


def test_without_python_liquid_templates_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """A template needs `omnikit[templates]`, and says so; plain text renders without it."""
    monkeypatch.setitem(sys.modules, "liquid", None)  # as if it were not installed
    templates._environment_class.cache_clear()

    try:
        with pytest.raises(PluginNotFoundError) as caught:
            _sms("Hi {{ first_name }}", first_name="Ana")
        assert "Hi Ana" == _sms("Hi Ana")
    finally:
        templates._environment_class.cache_clear()

    assert "templates" == caught.value.extra
    assert "pip install 'omnikit[templates]'" in str(caught.value)
