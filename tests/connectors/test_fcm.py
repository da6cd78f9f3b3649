"""FCMConnector against a fake FCM on loopback that checks the JWT's signature and the tokens it issued."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from fake_provider import Answer, FakeProvider, Fault, Seen
from hypothesis import given
from hypothesis import strategies as st

import omnikit
from omnikit.connectors import (
    Accepted,
    Envelope,
    InboundConnector,
    Refused,
    Rendition,
    SendResult,
    Transient,
    Unknown,
    connect,
)
from omnikit.connectors.fcm import (
    DELIVERY_ID_KEY,
    SCOPE,
    FCMConnector,
    ServiceAccount,
    _message,
)
from omnikit.testing import ConnectorContract, FrozenClock

PROJECT = "shop-test"
EMAIL = "push@shop-test.iam.gserviceaccount.com"
DEVICE = "fGw0qy4TGgk:APA91bGt1-sample_registration.token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
T0 = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module", name="key")
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# -- the fake FCM --------------------------------------------------------------------------------


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _google_error(status: int, google: str, message: str, fcm: str | None = None) -> Answer:
    details = []
    if fcm is not None:
        details.append(
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm}
        )
    body = {"error": {"code": status, "message": message, "status": google, "details": details}}
    return Answer(status, body)


_QUOTA = _google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "QUOTA_EXCEEDED")
_DOWN = _google_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE")
SCRIPTED = {  # device tokens FCM answers with an error, as its ErrorCode reference lists them
    "unregistered": _google_error(
        404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"
    ),
    "malformed": _google_error(
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
        "INVALID_ARGUMENT",
    ),
    "other-sender": _google_error(
        403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"
    ),
    "over-quota": _QUOTA,
    "over-quota-long": attrs.evolve(_QUOTA, headers={"Retry-After": "120"}),
    "unavailable": attrs.evolve(_DOWN, headers={"Retry-After": "30"}),
    "internal": _google_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL"),
    "apns-auth": _google_error(
        401,
        "UNAUTHENTICATED",
        "Auth error from APNS or Web Push Service",
        "THIRD_PARTY_AUTH_ERROR",
    ),
}


class FakeFCM:
    """Google's token endpoint and FCM's messages:send, as documented, for one service account."""

    def __init__(self, public_key: rsa.RSAPublicKey, now: Callable[[], dt.datetime]) -> None:
        self.public_key = public_key
        self.now = now
        self.audience = ""  # the token endpoint's URL, known once the server listens
        self.expires_in = 3599
        self.tokens: dict[str, float] = {}  # issued access tokens and when they expire
        self.token_status = 200
        self.reject_all = False
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, seen: Seen) -> Answer:
        if seen.path == "/token":
            return self.token(seen)
        if seen.path.startswith("/v1/projects/"):
            return self.send(seen)
        return _google_error(404, "NOT_FOUND", "Not found")

    # -- https://oauth2.googleapis.com/token ----------------------------------------------------

    def token(self, seen: Seen) -> Answer:
        if seen.method != "POST":
            return Answer(405, {"error": "invalid_request"})
        if seen.headers.get("content-type") != "application/x-www-form-urlencoded":
            return Answer(400, {"error": "invalid_request", "error_description": "form expected"})
        form = seen.form()
        if form.get("grant_type") != [JWT_BEARER] or len(form.get("assertion", [])) != 1:
            return Answer(
                400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
            )
        problem = self.check_assertion(form["assertion"][0])
        if problem is not None:
            return Answer(400, {"error": "invalid_grant", "error_description": problem})
        if self.token_status != 200:
            return Answer(self.token_status, {"error": "internal_failure"})
        token = "ya29." + secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = self.now().timestamp() + self.expires_in
        return Answer(
            200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        )

    def check_assertion(self, assertion: str) -> str | None:
        parts = assertion.split(".")
        if len(parts) != 3:
            return "Invalid JWT: not three parts"
        header, claims = (json.loads(_b64decode(part)) for part in parts[:2])
        if header != {"alg": "RS256", "typ": "JWT", "kid": "key-1"}:
            return f"Invalid JWT header {header}"
        try:
            self.public_key.verify(
                _b64decode(parts[2]),
                f"{parts[0]}.{parts[1]}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return "Invalid JWT Signature."
        expected = {"iss": EMAIL, "scope": SCOPE, "aud": self.audience}
        if {key: claims.get(key) for key in expected} != expected:
            return f"Invalid JWT claims {claims}"
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or not 0 < exp - iat <= 3600:
            return "Invalid JWT: Token must be a short-lived token (60 minutes)"
        if abs(iat - self.now().timestamp()) > 300:
            return "Invalid JWT: Token must be in a reasonable timeframe"
        return None

    # -- POST /v1/projects/{project}/messages:send ----------------------------------------------

    def send(self, seen: Seen) -> Answer:
        if seen.path != f"/v1/projects/{PROJECT}/messages:send":
            return _google_error(404, "NOT_FOUND", "Requested entity was not found.")
        if seen.method != "POST":
            return _google_error(405, "METHOD_NOT_ALLOWED", "POST only")
        bearer = seen.headers.get("authorization", "")
        with self._lock:
            expiry = self.tokens.get(bearer.removeprefix("Bearer "))
        if (
            self.reject_all
            or not bearer.startswith("Bearer ")
            or expiry is None
            or expiry <= self.now().timestamp()
        ):
            return _google_error(
                401, "UNAUTHENTICATED", "Request had invalid authentication credentials."
            )
        if seen.headers.get("content-type") != "application/json":
            return _google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        problem = self.check_message(seen.json())
        if problem is not None:
            return _google_error(400, "INVALID_ARGUMENT", problem, "INVALID_ARGUMENT")
        return self.answer(seen.json()["message"]["token"])

    @staticmethod
    def check_message(body: Any) -> str | None:
        if not isinstance(body, dict) or set(body) - {"message", "validate_only"}:
            return "Invalid JSON payload received. Unknown name"
        message = body.get("message")
        if not isinstance(message, dict):
            return "message is required"
        if sum(key in message for key in ("token", "topic", "condition")) != 1:
            return "exactly one of token, topic or condition is required"
        data = message.get("data", {})
        for index, (key, value) in enumerate(data.items()):
            if not isinstance(value, str):
                return f"Invalid value at 'message.data[{index}].value' (TYPE_STRING), {value}"
            if key in {"from", "gcm"} or key.startswith("google"):
                return f"Invalid data key {key!r}"
        notification = message.get("notification", {})
        if set(notification) - {"title", "body", "image"}:
            return "Invalid JSON payload received. Unknown name in notification"
        size = sum(len(v.encode()) for v in notification.values()) + sum(
            len(k.encode()) + len(v.encode()) for k, v in data.items()
        )
        if size > 4096:
            return "Message is too big"
        return None

    def answer(self, device: str) -> Answer:
        scripted = SCRIPTED.get(device)
        if scripted is not None:
            return scripted
        with self._lock:
            self.count += 1
            number = self.count
        return Answer(200, {"name": f"projects/{PROJECT}/messages/0:{number}%31bd1c96"})


@pytest.fixture(name="clock")
def _clock() -> FrozenClock:
    return FrozenClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


@pytest.fixture(name="fcm")
def _fcm(key: rsa.RSAPrivateKey, clock: FrozenClock) -> FakeFCM:
    return FakeFCM(key.public_key(), clock)


@pytest.fixture(name="fake")
def _fake(fcm: FakeFCM) -> Iterator[FakeProvider]:
    with FakeProvider(fcm) as server:
        fcm.audience = f"{server.url}/token"
        yield server


def _account(key: rsa.RSAPrivateKey, fake: FakeProvider) -> dict[str, str]:
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "key-1",
        "private_key": _pem(key),
        "client_email": EMAIL,
        "client_id": "1234567890",
        "token_uri": f"{fake.url}/token",
    }


@pytest.fixture(name="make")
def _make(
    key: rsa.RSAPrivateKey, fake: FakeProvider, clock: FrozenClock
) -> Iterator[Callable[..., FCMConnector]]:
    made: list[FCMConnector] = []

    def make(**options: Any) -> FCMConnector:
        account = options.pop("account", None) or _account(key, fake)
        made.append(FCMConnector(account, base_url=fake.url, clock=clock, **options))
        return made[-1]

    yield make
    for connector in made:
        connector.close()


def envelope(to: str = DEVICE, *, text: str = "It has shipped", **fields: Any) -> Envelope:
    rendition = Rendition(channel="push", to=to, subject="Your order", text=text, **fields)
    return Envelope(id="dlv_1", rendition=rendition)


def _paths(fake: FakeProvider) -> list[str]:
    return ["token" if seen.path == "/token" else "send" for seen in fake.requests]


# -- the contract --------------------------------------------------------------------------------


class TestFCMContract(ConnectorContract):
    @pytest.fixture
    def connector(self, make: Callable[..., FCMConnector]) -> Iterator[FCMConnector]:
        connector = make()
        yield connector
        connector.close()

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="push", to=DEVICE, subject="Your order", text="It has shipped")

    @pytest.fixture
    def secrets(self, key: rsa.RSAPrivateKey) -> list[str]:
        return _pem(key).splitlines()[1:-1]


# -- sending -------------------------------------------------------------------------------------


def test_a_send_signs_a_jwt_gets_a_token_and_posts_the_message(
    make: Callable[..., FCMConnector], fake: FakeProvider, send: Any
) -> None:
    result = send(make(), envelope(data={"order": "A-17"}))

    assert Accepted(provider_message_id=f"projects/{PROJECT}/messages/0:1%31bd1c96") == result
    assert ["token", "send"] == _paths(fake)
    body = fake.requests[1].json()
    assert {
        "message": {
            "token": DEVICE,
            "notification": {"title": "Your order", "body": "It has shipped"},
            "data": {"order": "A-17", DELIVERY_ID_KEY: "dlv_1"},
        }
    } == body


def test_a_jwt_signed_with_another_key_is_refused_and_nothing_is_sent(
    make: Callable[..., FCMConnector], key: rsa.RSAPrivateKey, fake: FakeProvider, send: Any
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    account = {**_account(key, fake), "private_key": _pem(other)}

    result = send(make(account=account), envelope())

    assert (
        Refused(
            code="invalid_grant",
            reason="the token endpoint refused the service account: Invalid JWT Signature.",
        )
        == result
    )
    assert ["token"] == _paths(fake)


def test_the_token_is_kept_and_shared_by_send_and_asend(
    make: Callable[..., FCMConnector], fake: FakeProvider
) -> None:
    push = make()
    assert isinstance(push.send(envelope()), Accepted)

    async def run() -> SendResult:
        try:
            return await push.asend(envelope())
        finally:
            await push.aclose()

    assert isinstance(asyncio.run(run()), Accepted)
    assert ["token", "send", "send"] == _paths(fake)
    assert fake.requests[1].headers["authorization"] == fake.requests[2].headers["authorization"]


def test_the_token_is_fetched_anew_shortly_before_it_expires(
    make: Callable[..., FCMConnector], fake: FakeProvider, clock: FrozenClock
) -> None:
    push = make()
    push.send(envelope())
    clock.advance(seconds=3599 - 300 - 1)
    push.send(envelope())
    assert ["token", "send", "send"] == _paths(fake)

    clock.advance(seconds=1)
    assert isinstance(push.send(envelope()), Accepted)
    assert ["token", "send", "send", "token", "send"] == _paths(fake)


def test_a_401_to_a_kept_token_fetches_one_anew_once(
    make: Callable[..., FCMConnector], fake: FakeProvider, fcm: FakeFCM, send: Any
) -> None:
    push = make()
    push.send(envelope())
    fcm.tokens.clear()  # FCM no longer takes the token the connector keeps

    assert isinstance(send(push, envelope()), Accepted)
    assert ["token", "send", "send", "token", "send"] == _paths(fake)


def test_unauthenticated_after_a_refresh_is_refused(
    make: Callable[..., FCMConnector], fake: FakeProvider, fcm: FakeFCM, send: Any
) -> None:
    push = make()
    push.send(envelope())
    fcm.reject_all = True

    result = send(push, envelope())

    assert isinstance(result, Refused)
    assert "UNAUTHENTICATED" == result.code
    assert ["token", "send", "send", "token", "send"] == _paths(fake)


def test_unauthenticated_with_a_fresh_token_is_refused_without_another(
    make: Callable[..., FCMConnector], fake: FakeProvider, fcm: FakeFCM
) -> None:
    fcm.reject_all = True
    result = make().send(envelope())
    assert isinstance(result, Refused)
    assert "UNAUTHENTICATED" == result.code
    assert ["token", "send"] == _paths(fake)


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("unregistered", Refused(code="UNREGISTERED", reason="Requested entity was not found.")),
        (
            "malformed",
            Refused(
                code="INVALID_ARGUMENT",
                reason="The registration token is not a valid FCM registration token",
            ),
        ),
        ("other-sender", Refused(code="SENDER_ID_MISMATCH", reason="SenderId mismatch")),
        (
            "over-quota",
            Transient(
                code="QUOTA_EXCEEDED",
                reason="Quota exceeded.",
                retry_after=60.0,
                safe_to_retry=True,
            ),
        ),
        (
            "over-quota-long",
            Transient(
                code="QUOTA_EXCEEDED",
                reason="Quota exceeded.",
                retry_after=120.0,
                safe_to_retry=True,
            ),
        ),
        (
            "unavailable",
            Transient(
                code="UNAVAILABLE", reason="The service is currently unavailable.", retry_after=30.0
            ),
        ),
        ("internal", Transient(code="INTERNAL", reason="Internal error encountered.")),
        (
            "apns-auth",
            Refused(
                code="THIRD_PARTY_AUTH_ERROR", reason="Auth error from APNS or Web Push Service"
            ),
        ),
    ],
)
def test_fcm_error_codes_are_classified(
    make: Callable[..., FCMConnector], to: str, expected: SendResult, send: Any
) -> None:
    assert expected == send(make(), envelope(to))


def test_a_third_party_auth_error_fetches_no_new_token(
    make: Callable[..., FCMConnector], fake: FakeProvider
) -> None:
    push = make()
    push.send(envelope())
    assert isinstance(push.send(envelope("apns-auth")), Refused)
    assert ["token", "send", "send"] == _paths(fake)


def test_a_token_endpoint_outage_is_safe_to_retry(
    make: Callable[..., FCMConnector], fake: FakeProvider, fcm: FakeFCM, send: Any
) -> None:
    fcm.token_status = 503
    result = send(make(), envelope())
    assert isinstance(result, Transient)
    assert result.safe_to_retry
    assert ["token"] == _paths(fake)


# -- faults --------------------------------------------------------------------------------------


def test_a_reset_on_the_token_call_is_safe_to_retry(
    make: Callable[..., FCMConnector], fake: FakeProvider, send: Any
) -> None:
    fake.fault(Fault.reset())
    result = send(make(), envelope())
    assert isinstance(result, Transient)
    assert result.safe_to_retry


def test_a_reset_on_the_send_is_unknown(
    make: Callable[..., FCMConnector], fake: FakeProvider, send: Any
) -> None:
    push = make()
    push.send(envelope())  # a token is kept: the next call is the send
    fake.fault(Fault.reset())
    assert isinstance(send(push, envelope()), Unknown)


def test_no_answer_within_the_timeout_is_unknown(
    make: Callable[..., FCMConnector], fake: FakeProvider, send: Any
) -> None:
    push = make(timeout=0.3)
    push.send(envelope())  # a token is kept
    fake.fault(Fault.delay(1.0))
    result = send(push, envelope())
    assert isinstance(result, Unknown)
    assert "Timeout" in result.reason


def test_a_5xx_after_fcm_stored_it_is_not_safe_to_retry(
    make: Callable[..., FCMConnector], fake: FakeProvider, send: Any
) -> None:
    push = make()
    push.send(envelope())
    fake.fault(Fault.fail_after_store())
    result = send(push, envelope())
    assert isinstance(result, Transient)
    assert not result.safe_to_retry
    assert 2 == sum(seen.path.endswith("messages:send") for seen in fake.stored)


# -- checks before sending -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"to": "fGw0\r\nX-Injected: 1"}, "to"),
        ({"to": "a" * 5000}, "to"),
        ({"data": {"from": "shop"}}, "data.from"),
        ({"data": {"google.c.a.e": "1"}}, "data.google.c.a.e"),
        ({"data": {DELIVERY_ID_KEY: "someone-else"}}, f"data.{DELIVERY_ID_KEY}"),
        ({"data": {"blob": "x" * 4000}, "subject": "y" * 100}, "data"),
        ({"template": omnikit.connectors.TemplateRef(name="promo")}, "template"),
    ],
)
def test_a_message_fcm_would_refuse_is_an_error_before_anything_goes_out(
    make: Callable[..., FCMConnector], fake: FakeProvider, fields: dict[str, Any], field: str
) -> None:
    rendition = Rendition(**{"channel": "push", "to": DEVICE, "text": "Hi", **fields})
    with pytest.raises(omnikit.ValidationError) as caught:
        make().send(Envelope(id="dlv_1", rendition=rendition))
    assert any(error.startswith(f"{field}:") for error in caught.value.errors), caught.value.errors
    assert [] == fake.requests


def test_data_values_must_be_strings_as_fcm_requires() -> None:
    with pytest.raises(omnikit.ValidationError, match=r"data\.badge"):
        Rendition(channel="push", to=DEVICE, text="x", data={"badge": 3})  # type: ignore[dict-item]


@given(
    data=st.dictionaries(
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).filter(
            lambda k: (
                k.lower() not in {"from", "gcm", DELIVERY_ID_KEY}
                and not k.lower().startswith("google")
            )
        ),
        st.text(st.characters(codec="utf-8"), max_size=600),
        max_size=10,
    ),
    text=st.text(st.characters(codec="utf-8"), min_size=1, max_size=300),
)
def test_the_payload_is_refused_exactly_when_it_passes_4096_bytes(
    data: dict[str, str], text: str
) -> None:
    item = Envelope(
        id="dlv_42", rendition=Rendition(channel="push", to=DEVICE, text=text, data=data)
    )
    size = len(text.encode()) + sum(len(k.encode()) + len(v.encode()) for k, v in data.items())
    size += len(DELIVERY_ID_KEY) + len("dlv_42")
    if size > 4096:
        with pytest.raises(omnikit.ValidationError, match="4096"):
            _message(item)
    else:
        message = _message(item)["message"]
        assert {**data, DELIVERY_ID_KEY: "dlv_42"} == message["data"]
        assert all(isinstance(value, str) for value in message["data"].values())
        assert FakeFCM.check_message({"message": message}) is None


# -- the service account and its secret -----------------------------------------------------------


def test_the_private_key_never_shows(
    make: Callable[..., FCMConnector], key: rsa.RSAPrivateKey
) -> None:
    push = make()
    body = _pem(key).splitlines()[1]
    for text in (repr(push), str(push), repr(push.service_account), str(push.service_account)):
        assert body not in text
    assert "Secret('***')" in repr(push.service_account)


def test_an_unusable_key_is_named_without_showing_it(
    key: rsa.RSAPrivateKey, fake: FakeProvider
) -> None:
    broken = _pem(key).replace("A", "B", 5)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    for pem in (broken, ec_pem, "not a key"):
        with pytest.raises(
            omnikit.ValidationError, match=r"service_account\.private_key"
        ) as caught:
            FCMConnector({**_account(key, fake), "private_key": pem})
        assert pem.splitlines()[-1 if pem == "not a key" else 1] not in str(caught.value)


def test_a_key_file_is_read_and_checked(
    key: rsa.RSAPrivateKey, fake: FakeProvider, tmp_path: Path
) -> None:
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(_account(key, fake)))
    assert PROJECT == FCMConnector(path).project_id
    assert "other" == FCMConnector(str(path), project_id="other").project_id

    path.write_text('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE' + "," * 3)
    with pytest.raises(omnikit.ValidationError, match="not a JSON key file") as caught:
        FCMConnector(path)
    assert "MIIE" not in str(caught.value)
    with pytest.raises(omnikit.ValidationError, match="cannot read"):
        FCMConnector(tmp_path / "missing.json")
    with pytest.raises(omnikit.ValidationError) as missing:
        ServiceAccount.from_mapping({"type": "authorized_user", "project_id": 7})
    assert {error.split(":")[0] for error in missing.value.errors} == {
        "service_account.type",
        "service_account.client_email",
        "service_account.private_key",
        "service_account.project_id",
    }


def test_a_project_is_needed(key: rsa.RSAPrivateKey, fake: FakeProvider) -> None:
    account = {k: v for k, v in _account(key, fake).items() if k != "project_id"}
    with pytest.raises(omnikit.ValidationError, match="project_id: missing"):
        FCMConnector(account)
    with pytest.raises(omnikit.ValidationError, match="project_id"):
        FCMConnector(account, project_id="../other/messages")


def test_connect_by_url(key: rsa.RSAPrivateKey, fake: FakeProvider, tmp_path: Path) -> None:
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(_account(key, fake)))
    push = connect(f"fcm://override-project?service_account={path}&timeout=3")
    assert isinstance(push, FCMConnector)
    assert ("override-project", 3.0) == (push.project_id, push.timeout)
    assert f"{fake.url}/token" == push.service_account.token_uri
    assert not isinstance(push, InboundConnector)  # FCM has no delivery webhooks
    with pytest.raises(omnikit.ValidationError, match="service_account"):
        connect("fcm://p")
    with pytest.raises(omnikit.ValidationError, match="unknown option 'colour'"):
        connect(f"fcm://p?service_account={path}&colour=red")
