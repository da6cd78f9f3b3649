"""The SMTP connector against a real SMTP server on loopback: TLS, AUTH, every kind of answer."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smtp_server import (
    PASSWORD,
    USER,
    Mailroom,
    authenticator,
    certificate,
    client_context,
    free_port,
    server_context,
    serving,
)

from omnikit.connectors import (
    Accepted,
    Envelope,
    Refused,
    Rendition,
    TemplateRef,
    Transient,
    Unknown,
    connect,
)
from omnikit.connectors.smtp import DELIVERY_HEADER, SMTPConnector, _message_id
from omnikit.errors import ConnectorError, ValidationError
from omnikit.testing import ConnectorContract

SENDER = "Shop <shop@example.com>"


@attrs.frozen
class TLS:
    cert_file: Path
    key_file: Path
    pem: bytes

    def server(self) -> object:
        return server_context(self.cert_file, self.key_file)

    def client(self) -> object:
        return client_context(self.pem)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLS:
    return TLS(*certificate(tmp_path_factory.mktemp("tls")))


@pytest.fixture(name="mailroom")
def _mailroom() -> Mailroom:
    return Mailroom()


@pytest.fixture(name="secure")
def _secure(mailroom: Mailroom, tls: TLS) -> Iterator[int]:
    """A server that requires STARTTLS and AUTH, as a provider's submission port does."""
    with serving(
        mailroom,
        tls_context=tls.server(),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    ) as port:
        yield port


@pytest.fixture(name="plain")
def _plain(mailroom: Mailroom) -> Iterator[int]:
    """A relay that speaks no TLS and wants no login (a local MTA)."""
    with serving(mailroom) as port:
        yield port


def smtp(port: int, tls: TLS, **options: object) -> SMTPConnector:
    settings_ = {
        "username": USER,
        "password": PASSWORD,
        "sender": SENDER,
        "timeout": 5.0,
        "ssl_context": tls.client(),
    }
    settings_.update(options)
    return SMTPConnector("127.0.0.1", port, **settings_)  # type: ignore[arg-type]


def letter(to: str = "ana@example.com", **fields: object) -> Envelope:
    rendition = Rendition(
        channel="email",
        to=to,
        subject=fields.pop("subject", "Your order"),  # type: ignore[arg-type]
        text=fields.pop("text", "It ships today."),  # type: ignore[arg-type]
        html=fields.pop("html", "<p>It ships <b>today</b>.</p>"),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )
    return Envelope(id="dlv_42", rendition=rendition)


class TestSMTPContract(ConnectorContract):
    @pytest.fixture
    def connector(self, secure: int, tls: TLS) -> SMTPConnector:
        return smtp(secure, tls)

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="email", to="ana@example.com", subject="Hi", text="Hello Ana")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [PASSWORD]


# -- what goes out -------------------------------------------------------------------------------


def test_a_message_goes_out_over_starttls_and_auth_with_our_delivery_id(
    secure: int, tls: TLS, mailroom: Mailroom
) -> None:
    result = smtp(secure, tls).send(letter())

    assert isinstance(result, Accepted)
    assert "queued as Q1234" in result.status
    [message] = mailroom.messages
    assert "dlv_42" == message[DELIVERY_HEADER]
    assert result.provider_message_id == message["Message-ID"]
    assert "dlv_42" == SMTPConnector.delivery_id(message["Message-ID"])
    assert "Your order" == message["Subject"]
    assert "Shop <shop@example.com>" == message["From"]
    assert "ana@example.com" == message["To"]
    assert message["Date"]
    assert [("shop@example.com", ["ana@example.com"])] == mailroom.envelopes
    assert "multipart/alternative" == message.get_content_type()
    text = message.get_body(("plain",))
    markup = message.get_body(("html",))
    assert text is not None
    assert markup is not None
    assert "It ships today." in text.get_content()
    assert "<b>today</b>" in markup.get_content()


def test_each_attempt_has_its_own_message_id(secure: int, tls: TLS) -> None:
    connector = smtp(secure, tls)
    first, second = connector.send(letter()), connector.send(letter())
    assert isinstance(first, Accepted)
    assert isinstance(second, Accepted)
    assert first.provider_message_id != second.provider_message_id


def test_a_line_starting_with_a_dot_arrives_intact(
    plain: int, tls: TLS, mailroom: Mailroom
) -> None:
    body = "Totals\n.\n..double\n.end"
    connector = SMTPConnector("127.0.0.1", plain, starttls=False, sender=SENDER)
    assert isinstance(connector.send(letter(text=body, html=None)), Accepted)
    [message] = mailroom.messages
    assert body in message.get_content().replace("\r\n", "\n")


def test_html_only_and_unicode_go_out_whole(plain: int, mailroom: Mailroom) -> None:
    connector = SMTPConnector(
        "127.0.0.1", plain, starttls=False, sender="Loja Ç <loja@example.com>"
    )
    envelope = letter(to="zoe@exämple.com", subject="Olá, Zoë ✨", text="", html="<p>Olá ✨</p>")
    assert isinstance(connector.send(envelope), Accepted)
    [message] = mailroom.messages
    assert "Olá, Zoë ✨" == message["Subject"]
    assert "text/html" == message.get_content_type()
    assert "<p>Olá ✨</p>" in message.get_content()
    assert ["zoe@xn--exmple-cua.com"] == mailroom.envelopes[0][1]


def test_media_go_as_links_and_templates_are_refused(plain: int, mailroom: Mailroom) -> None:
    connector = SMTPConnector("127.0.0.1", plain, starttls=False, sender=SENDER)
    envelope = letter(media=("https://shop.example/p/1.jpg?a=1&b=2",))
    assert isinstance(connector.send(envelope), Accepted)
    [message] = mailroom.messages
    text = message.get_body(("plain",))
    markup = message.get_body(("html",))
    assert text is not None
    assert markup is not None
    assert "https://shop.example/p/1.jpg?a=1&b=2" in text.get_content()
    assert 'href="https://shop.example/p/1.jpg?a=1&amp;b=2"' in markup.get_content()
    with pytest.raises(ValidationError, match=r"media\.0"):
        connector.send(letter(media=("javascript:alert(1)",)))
    with pytest.raises(ValidationError, match="template"):
        connector.send(letter(template=TemplateRef(name="welcome")))


# -- TLS and AUTH --------------------------------------------------------------------------------


def test_implicit_tls_on_smtps(mailroom: Mailroom, tls: TLS) -> None:
    with serving(
        mailroom, ssl_context=tls.server(), authenticator=authenticator, auth_require_tls=False
    ) as port:
        url = f"smtps://{USER}:{PASSWORD}@127.0.0.1:{port}?from=shop@example.com"
        connector = connect(url, ssl_context=tls.client())
        assert isinstance(connector, SMTPConnector)
        assert connector.tls
        assert isinstance(connector.send(letter()), Accepted)
    assert len(mailroom.messages) == 1


def test_a_server_without_starttls_gets_nothing_in_clear(plain: int, mailroom: Mailroom) -> None:
    connector = SMTPConnector("127.0.0.1", plain, sender=SENDER)  # STARTTLS by default
    result = connector.send(letter())
    assert isinstance(result, Refused)
    assert "starttls" == result.code
    assert [] == mailroom.messages


def test_a_password_is_never_sent_in_clear() -> None:
    with pytest.raises(ValidationError, match="clear text"):
        SMTPConnector("mail.example.com", starttls=False, username=USER, password=PASSWORD)


def test_an_untrusted_certificate_sends_nothing_and_is_safe_to_retry(
    secure: int, tls: TLS, mailroom: Mailroom
) -> None:
    result = smtp(secure, tls, ssl_context=ssl.create_default_context()).send(letter())
    assert isinstance(result, Transient)
    assert "tls" == result.code
    assert result.safe_to_retry
    assert [] == mailroom.messages


def test_a_wrong_password_is_refused_and_never_shown(
    secure: int, tls: TLS, mailroom: Mailroom
) -> None:
    connector = smtp(secure, tls, password="not-the-password-9")  # noqa: S106
    result = connector.send(letter())
    assert isinstance(result, Refused)
    assert "535" == result.code
    for shown in (repr(result), repr(connector), str(connector), connector.url):
        assert "not-the-password-9" not in shown
    assert [] == mailroom.messages


# -- the server's answers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "subject", "expected"),
    [
        (
            "greylisted@example.com",
            "Hi",
            Transient(code="451", reason="4.7.1 greylisted, come back later", safe_to_retry=True),
        ),
        ("nobody@example.com", "Hi", Refused(code="550", reason="5.1.1 no such user here")),
        # A 4xx after the body: the server took no responsibility (RFC 5321), so a retry is safe.
        (
            "ana@example.com",
            "later",
            Transient(code="451", reason="4.3.0 queue full", safe_to_retry=True),
        ),
        ("ana@example.com", "refuse", Refused(code="554", reason="5.7.1 content rejected")),
    ],
)
def test_refusals_by_code_and_stage(
    secure: int, tls: TLS, to: str, subject: str, expected: object
) -> None:
    assert expected == smtp(secure, tls).send(letter(to=to, subject=subject))


def test_a_sender_refused_at_mail_from_is_safe_to_retry(secure: int, tls: TLS) -> None:
    result = smtp(secure, tls, sender="busy@example.com").send(letter())
    assert Transient(code="451", reason="4.3.2 too busy, try again later", safe_to_retry=True) == (
        result
    )


def test_a_message_larger_than_the_servers_size_is_refused(mailroom: Mailroom) -> None:
    with serving(mailroom, data_size_limit=2_000) as port:
        connector = SMTPConnector("127.0.0.1", port, starttls=False, sender=SENDER)
        result = connector.send(letter(text="x" * 5_000))
    assert isinstance(result, Refused)
    assert "552" == result.code
    assert [] == mailroom.messages


def test_a_connection_dropped_after_the_body_is_unknown(secure: int, tls: TLS) -> None:
    result = smtp(secure, tls).send(letter(subject="drop"))
    assert isinstance(result, Unknown)


def test_no_reply_after_the_body_within_the_timeout_is_unknown(secure: int, tls: TLS) -> None:
    result = smtp(secure, tls, timeout=0.5).send(letter(subject="slow"))
    assert isinstance(result, Unknown)
    assert "timed out" in result.reason


def test_nobody_listening_is_transient_and_safe() -> None:
    result = SMTPConnector("127.0.0.1", free_port(), sender=SENDER).send(letter())
    assert isinstance(result, Transient)
    assert result.safe_to_retry
    assert "connection" == result.code


@pytest.mark.parametrize(
    ("greeting", "expected"),
    [
        (b"", Transient),
        (b"421 4.3.2 mail.test busy, come back later\r\n", Transient),
        (b"554 5.3.2 no SMTP service here\r\n", Refused),
    ],
)
def test_a_server_that_will_not_greet_gets_nothing(greeting: bytes, expected: type) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        connector = SMTPConnector("127.0.0.1", port, sender=SENDER, timeout=2.0)

        def greet_and_hang_up() -> None:
            conversation, _ = listener.accept()
            with conversation:
                conversation.sendall(greeting)

        async def run() -> object:
            sending = asyncio.create_task(connector.asend(letter()))
            await asyncio.to_thread(greet_and_hang_up)
            return await sending

        result = asyncio.run(run())
    assert isinstance(result, expected)
    if isinstance(result, Transient):
        assert result.safe_to_retry


def test_asend_answers_as_send(secure: int, tls: TLS) -> None:
    async def run() -> object:
        connector = smtp(secure, tls)
        try:
            return await connector.asend(letter(to="nobody@example.com"))
        finally:
            await connector.aclose()

    assert Refused(code="550", reason="5.1.1 no such user here") == asyncio.run(run())


# -- hostile input -------------------------------------------------------------------------------

INJECTIONS = ["\r\nBcc: evil@example.net", "\nBcc: evil@example.net", "\rX: y", "\x00", "\u2028"]


@pytest.mark.parametrize("injection", INJECTIONS)
@pytest.mark.parametrize("field", ["to", "subject", "sender"])
def test_header_injection_is_refused_before_connecting(
    plain: int, mailroom: Mailroom, field: str, injection: str
) -> None:
    connector = SMTPConnector("127.0.0.1", plain, starttls=False, sender=SENDER)
    base = {"to": "ana@example.com", "subject": "Hi", "sender": "shop@example.com"}
    base[field] += injection
    with pytest.raises(ValidationError, match=field):
        connector.send(letter(**base))  # type: ignore[arg-type]
    assert 0 == mailroom.sessions


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.text(max_size=20),
    after=st.text(max_size=20),
    brk=st.sampled_from(["\r", "\n", "\r\n"]),
)
def test_no_subject_with_a_line_break_is_ever_sent(before: str, after: str, brk: str) -> None:
    connector = SMTPConnector("127.0.0.1", 1, sender=SENDER)
    with pytest.raises(ValidationError, match="subject"):
        connector.send(letter(subject=before + brk + after))


@pytest.mark.parametrize(
    "to", ["ana", "ana@", "@example.com", "a@x.com, b@y.com", "a b@x.com", "añ@x.com"]
)
def test_what_is_not_one_address_is_refused(to: str) -> None:
    with pytest.raises(ValidationError, match="to"):
        SMTPConnector("127.0.0.1", 1, sender=SENDER).send(letter(to=to))


def test_no_sender_anywhere_is_an_error() -> None:
    with pytest.raises(ValidationError, match="sender"):
        SMTPConnector("127.0.0.1", 1).send(letter())


# -- configuration -------------------------------------------------------------------------------


def test_the_url_configures_it_and_hides_the_password() -> None:
    connector = connect(
        "smtp://shop:p%40ss@mail.example.com:587?starttls=true&from=shop@example.com"
    )
    assert isinstance(connector, SMTPConnector)
    assert ("mail.example.com", 587, "shop") == (connector.host, connector.port, connector.username)
    assert connector.starttls
    assert not connector.tls
    assert connector.sender is not None
    assert "shop@example.com" == connector.sender.address
    assert "p@ss" not in repr(connector)
    assert "smtp://shop:***@mail.example.com:587?starttls=true" == connector.url
    smtps = connect("smtps://shop:pw@mail.example.com?from=shop@example.com")
    assert isinstance(smtps, SMTPConnector)
    assert (465, True, False) == (smtps.port, smtps.tls, smtps.starttls)
    relay = connect("smtp://localhost:25?starttls=false")
    assert isinstance(relay, SMTPConnector)
    assert (25, False, False) == (relay.port, relay.tls, relay.starttls)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("smtp://mail.example.com?startls=true", "startls"),
        ("smtp://mail.example.com?starttls=maybe", "starttls"),
        ("smtp://mail.example.com?timeout=soon", "timeout"),
        ("smtp://?from=a@b.com", "host"),
        ("smtp://u:p@mail.example.com?starttls=false", "clear text"),
        ("smtp://mail.example.com?from=not-an-address", "sender"),
    ],
)
def test_a_url_it_cannot_use_is_an_error(url: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        connect(url)


@given(st.from_regex(r"[A-Za-z0-9_.:-]{1,128}", fullmatch=True))
def test_the_delivery_id_comes_back_out_of_the_message_id(delivery_id: str) -> None:
    message_id = _message_id(delivery_id, "example.com")
    assert delivery_id == SMTPConnector.delivery_id(message_id)


def test_a_foreign_message_id_has_no_delivery_id() -> None:
    assert SMTPConnector.delivery_id("<CAFx1234@mail.gmail.com>") is None
    assert SMTPConnector.delivery_id("") is None


def test_closed_is_closed(secure: int, tls: TLS) -> None:
    connector = smtp(secure, tls)
    connector.close()
    with pytest.raises(ConnectorError, match="closed"):
        connector.send(letter())
