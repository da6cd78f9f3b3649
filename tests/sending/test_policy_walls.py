"""The contact policy is a wall: properties over random sequences of consents, sends and time."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnikit import ContactPolicy, DeliveryStatus, FrequencyCap, Hub, QuietHours
from omnikit._engines.outbox import advance
from omnikit.connectors.memory import MemoryConnector
from omnikit.testing import FrozenClock

START = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
QUIET = QuietHours(start=dt.time(21), end=dt.time(8))
ZONES = ["Europe/Lisbon", "Asia/Tokyo", "America/New_York", "Pacific/Auckland"]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("consent"), st.booleans(), st.sampled_from(["email", None])),
        st.tuples(st.just("expire"), st.integers(1, 48)),
        st.tuples(st.just("send"), st.sampled_from(["marketing", "transactional"])),
        st.tuples(st.just("wait"), st.integers(1, 20 * 60)),
        st.tuples(st.just("dispatch")),
    ),
    max_size=25,
)


def _consent_in_force(
    events: list[tuple[dt.datetime, bool, dt.datetime | None]], now: dt.datetime
) -> bool:
    """The latest answer given before *now*, if an opt-in not expired: an independent reading."""
    given_before = [e for e in events if e[0] <= now]
    if not given_before:
        return False
    _at, granted, expires = max(given_before, key=lambda e: (e[0], not e[1]))
    return granted and (expires is None or now < expires)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=steps,
    zone=st.sampled_from(ZONES),
    limit=st.integers(1, 3),
    quiet_for_transactional=st.booleans(),
)
def test_no_sequence_gets_a_message_past_the_wall(
    steps: list[tuple[object, ...]], zone: str, limit: int, quiet_for_transactional: bool
) -> None:
    clock = FrozenClock(START)
    email = MemoryConnector("email")
    policy = ContactPolicy(
        caps=(FrequencyCap(limit=limit, per=dt.timedelta(days=1)),),
        quiet_hours=QUIET,
        timezone=zone,
        transactional_in_quiet_hours=quiet_for_transactional,
    )
    hub = Hub(connectors=[email], contact_policy=policy, clock=clock)
    hub.identify(user_id="ana", traits={"email": "ana@example.com"})
    cid = hub.customer(email="ana@example.com").id
    consents: list[tuple[dt.datetime, bool, dt.datetime | None]] = []
    sent_at: dict[str, dt.datetime] = {}
    purposes: dict[str, str] = {}
    for n, step in enumerate(steps):
        now = clock()
        if step[0] == "consent":
            granted = bool(step[1])
            hub.set_consent(
                cid,
                purpose="marketing",
                granted=granted,
                channel=step[2],
                timestamp=now,
                message_id=f"c{n}",
            )  # type: ignore[arg-type]
            consents.append((now, granted, None))
        elif step[0] == "expire":
            expires = now + dt.timedelta(hours=int(step[1]))  # type: ignore[call-overload]
            hub.set_consent(
                cid,
                purpose="marketing",
                granted=True,
                timestamp=now,
                expires_at=expires,
                message_id=f"e{n}",
            )
            consents.append((now, True, expires))
        elif step[0] == "send":
            delivery = hub.send(cid, "Hello", channel="email", purpose=str(step[1]))
            purposes[delivery.id] = delivery.purpose
        elif step[0] == "wait":
            clock.advance(minutes=int(step[1]))  # type: ignore[call-overload]
        else:
            hub.dispatch()
        for envelope in email.attempts:
            sent_at.setdefault(envelope.id, clock())
        clock.advance(seconds=1)  # answers given at one instant have no order to check against
    local = zoneinfo.ZoneInfo(zone)
    marketing_times = sorted(at for did, at in sent_at.items() if purposes[did] == "marketing")
    for did, at in sent_at.items():
        in_quiet = QUIET.contains(at.astimezone(local).time())
        if purposes[did] == "marketing":
            assert _consent_in_force(consents, at), "a marketing message went out without consent"
            assert not in_quiet, "a marketing message went out in quiet hours"
            assert sum(1 for t in marketing_times if at - dt.timedelta(days=1) < t <= at) <= limit
        elif not quiet_for_transactional:
            assert not in_quiet, (
                "a transactional message went out in quiet hours against the policy"
            )


def test_transactional_messages_pass_quiet_hours_only_where_the_policy_says() -> None:
    night = dt.datetime(2026, 3, 1, 23, tzinfo=dt.UTC)  # 23:00 in Lisbon
    for allowed, expected in ((True, DeliveryStatus.SENT), (False, DeliveryStatus.DEFERRED)):
        policy = ContactPolicy(timezone="Europe/Lisbon", transactional_in_quiet_hours=allowed)
        hub = Hub(
            connectors=[MemoryConnector("email")], contact_policy=policy, clock=FrozenClock(night)
        )
        hub.identify(user_id="ana", traits={"email": "ana@example.com"})
        delivery = hub.send(
            hub.customer(email="ana@example.com"),
            "Your code",
            channel="email",
            purpose="transactional",
        )
        assert delivery.status == expected


statuses = st.sampled_from(list(DeliveryStatus))


@given(st.lists(statuses, max_size=12), statuses)
def test_a_status_never_goes_backwards(
    receipts: list[DeliveryStatus], start: DeliveryStatus
) -> None:
    """Applying receipts in any order, the status only climbs, and repeating one changes nothing."""
    order = ["queued", "sending", "unknown", "sent", "delivered", "opened", "clicked", "complained"]
    current = start
    for incoming in receipts:
        after = advance(current, incoming)
        if after is None:
            continue
        assert after == incoming
        assert advance(after, incoming) is None  # idempotent
        if current.value in order and after.value in order:
            assert order.index(after.value) >= order.index(current.value) or after.value == "read"
        assert current != DeliveryStatus.REFUSED
        current = after


def test_late_and_duplicate_receipts_are_ignored() -> None:
    s = DeliveryStatus
    assert advance(s.READ, s.DELIVERED) is None
    assert advance(s.DELIVERED, s.SENT) is None
    assert advance(s.DELIVERED, s.DELIVERED) is None
    assert advance(s.DELIVERED, s.BOUNCED) is None
    assert advance(s.SENT, s.BOUNCED) == s.BOUNCED
    assert advance(s.BOUNCED, s.DELIVERED) is None
    assert advance(s.BOUNCED, s.COMPLAINED) == s.COMPLAINED
    assert advance(s.UNKNOWN, s.DELIVERED) == s.DELIVERED
    assert advance(s.REFUSED, s.DELIVERED) is None
    assert advance(s.SENT, s.QUEUED) is None
