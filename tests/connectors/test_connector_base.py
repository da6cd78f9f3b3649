"""The connector port: results, URLs, secrets, the registry, and the in-memory and console connectors."""

from __future__ import annotations

import datetime as dt
import io
import pickle

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import omnikit
from omnikit.connectors import (
    Accepted,
    Capabilities,
    ConnectorURL,
    DeliveryStatus,
    Envelope,
    EventKind,
    InboundRequest,
    Refused,
    Rendition,
    Secret,
    TemplateRef,
    check_rendition,
    connect,
    names,
    register,
    unregister,
)
from omnikit.connectors.console import ConsoleConnector
from omnikit.connectors.memory import SIGNATURE_HEADER, MemoryConnector
from omnikit.testing import ConnectorContract

NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


class TestMemoryConnectorContract(ConnectorContract):
    @pytest.fixture
    def connector(self) -> MemoryConnector:
        return MemoryConnector(
            "email",
            secret="memory-secret-1",  # noqa: S106 - a test secret, capabilities=Capabilities(max_length=500)
        )

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="email", to="ana@example.com", subject="Hi", text="Hello Ana")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return ["memory-secret-1"]

    @pytest.fixture
    def webhook(self, connector: MemoryConnector) -> InboundRequest:
        return connector.receipt("dlv_1", "delivered", event_id="ev-1")


class TestConsoleConnectorContract(ConnectorContract):
    @pytest.fixture
    def connector(self) -> ConsoleConnector:
        return ConsoleConnector("sms", stream=io.StringIO())

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="sms", to="+351912345678", text="Your order is ready")


def test_memory_keeps_what_it_accepts_and_plays_the_script() -> None:
    email = MemoryConnector("email")
    envelope = Envelope(
        id="dlv_1", rendition=Rendition(channel="email", to="a@example.com", text="x")
    )
    email.script(Refused(code="550", reason="no such user"))
    assert email.send(envelope) == Refused(code="550", reason="no such user")
    accepted = email.send(envelope)
    assert isinstance(accepted, Accepted)
    assert accepted.provider_message_id == "mem-1"
    assert email.sent == [envelope]
    assert email.attempts == [envelope, envelope]


def test_memory_receipts_parse_into_events_that_find_their_delivery() -> None:
    email = MemoryConnector("email")
    request = email.receipt("dlv_7", DeliveryStatus.CLICKED, event_id="e7")
    email.verify(request, now=NOW)
    [event] = email.parse(request)
    assert (event.kind, event.status, event.delivery_id, event.event_id) == (
        EventKind.ENGAGEMENT,
        DeliveryStatus.CLICKED,
        "dlv_7",
        "e7",
    )
    [reply] = email.parse(email.reply("a@example.com", "Is it in stock?"))
    assert (reply.kind, reply.address, reply.text) == (
        EventKind.INBOUND,
        "a@example.com",
        "Is it in stock?",
    )


def test_another_connectors_signature_does_not_verify() -> None:
    ours, theirs = MemoryConnector("email"), MemoryConnector("email")
    with pytest.raises(omnikit.SignatureError, match=SIGNATURE_HEADER):
        ours.verify(theirs.receipt("dlv_1", "delivered"), now=NOW)


def test_console_prints_the_rendition() -> None:
    out = io.StringIO()
    sms = ConsoleConnector("sms", stream=out)
    rendition = Rendition(channel="sms", to="+351912345678", text="Ready for pickup")
    assert isinstance(sms.send(Envelope(id="d1", rendition=rendition)), Accepted)
    assert "+351912345678" in out.getvalue()
    assert "Ready for pickup" in out.getvalue()


# -- checks before sending -----------------------------------------------------------------------


def test_check_rendition_names_every_limit_broken() -> None:
    caps = Capabilities(max_length=10, max_bytes=12, templates_required=True)
    rendition = Rendition(channel="whatsapp", to="", text="é" * 11, media=("https://x/y.png",))
    with pytest.raises(omnikit.ValidationError) as caught:
        check_rendition(rendition, caps)
    fields = {error.split(":")[0] for error in caught.value.errors}
    assert fields == {"to", "text", "data", "media", "template"}


def test_a_template_needs_no_text() -> None:
    caps = Capabilities(templates_required=True)
    check_rendition(
        Rendition(channel="whatsapp", to="+1", template=TemplateRef(name="order_ready")), caps
    )


def test_data_values_must_be_text() -> None:
    with pytest.raises(omnikit.ValidationError, match=r"data\.count"):
        Rendition(channel="push", to="tok", data={"count": 3})  # type: ignore[dict-item]


def test_a_renditions_data_cannot_be_changed_after() -> None:
    rendition = Rendition(channel="push", to="tok", text="x", data={"a": "1"})
    with pytest.raises(TypeError):
        rendition.data["a"] = "2"  # type: ignore[index]


def test_a_delivery_id_is_checked() -> None:
    rendition = Rendition(channel="sms", to="+1", text="x")
    with pytest.raises(omnikit.ValidationError, match="id"):
        Envelope(id="has space", rendition=rendition)


def test_inbound_body_must_be_raw_bytes() -> None:
    with pytest.raises(omnikit.ValidationError, match="body"):
        InboundRequest(method="post", url="https://x", body={"a": 1})  # type: ignore[arg-type]
    request = InboundRequest(method="post", url="https://x", headers={"X-A": "1"}, body="é")
    assert (request.method, request.headers["x-a"], request.body) == ("POST", "1", "é".encode())


# -- secrets and URLs ------------------------------------------------------------------------------


@given(st.text(min_size=1))
def test_a_secret_never_shows(value: str) -> None:
    secret = Secret(value)
    assert secret.reveal() == value
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "***"
    assert f"{secret}" == "***"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_a_connector_url_hides_its_password_and_secret_options() -> None:
    url = ConnectorURL("twilio://AC123:s3cr3t@api.example:8443/+15550100?auth_token=t0k&region=ie1")
    assert (url.scheme, url.user, url.host, url.port, url.path) == (
        "twilio",
        "AC123",
        "api.example",
        8443,
        "+15550100",
    )
    assert url.password is not None
    assert url.password.reveal() == "s3cr3t"
    assert url.options == {"auth_token": "t0k", "region": "ie1"}
    shown = str(url)
    assert "s3cr3t" not in shown
    assert "t0k" not in shown
    assert "region=ie1" in shown


def test_a_connector_url_refuses_an_option_given_twice() -> None:
    with pytest.raises(omnikit.ValidationError, match="twice"):
        ConnectorURL("memory://email?secret=a&secret=b")


def test_a_bad_url_error_does_not_echo_credentials() -> None:
    with pytest.raises(omnikit.ValidationError) as caught:
        ConnectorURL("user:hunter2@example.com")
    assert "hunter2" not in str(caught.value)


# -- the registry ---------------------------------------------------------------------------------


def test_connect_by_url_and_by_name() -> None:
    sms = connect("memory://sms")
    assert isinstance(sms, MemoryConnector)
    assert sms.channel == "sms"
    push = connect("console", channel="push", stream=io.StringIO())
    assert isinstance(push, ConsoleConnector)
    assert push.channel == "push"
    assert {"memory", "console"} <= set(names())


def test_an_unknown_connector_lists_those_that_exist() -> None:
    with pytest.raises(omnikit.ConnectorNotFoundError) as caught:
        connect("carrier-pigeon://x")
    assert "memory" in str(caught.value)


def test_a_registered_connector_comes_first_and_must_be_a_connector() -> None:
    register("memory", lambda **_: object())
    try:
        with pytest.raises(omnikit.PluginError, match=r"not an omnikit\.connectors\.Connector"):
            connect("memory")
    finally:
        unregister("memory")
    assert isinstance(connect("memory"), MemoryConnector)


def test_results_compare_by_value() -> None:
    assert Accepted(provider_message_id="x") == attrs.evolve(
        Accepted(provider_message_id="y"), provider_message_id="x"
    )
