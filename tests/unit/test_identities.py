"""Identifiers normalised so that one person compares equal, and two people never do."""

from __future__ import annotations

import email_validator
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import omnikit
from omnikit._models.identities import normalize_identifier

KELVIN = "\N{KELVIN SIGN}"


@pytest.mark.parametrize(
    "raw",
    [
        "+1 650 253 0000 ext. 12",
        "+1 (650) 253-0000 x12",
        "+1 650-253-0000 extension 12",
        "+1 650 253 0000 #12",
        "+16502530000;ext=12",
        "tel:+1-650-253-0000;ext=12",
    ],
)
def test_extension_spellings_normalise_alike(raw: str) -> None:
    """Every way people write an extension gives the RFC 3966 form after the E.164 number."""
    assert "+16502530000;ext=12" == normalize_identifier("phone", raw)


def test_a_phone_extension_is_part_of_the_identity(hub: omnikit.Hub) -> None:
    """
    Colleagues behind one switchboard stay two people, and neither is the switchboard.
    """
    hub.identify(anonymous_id="a1", phone="+1 650 253 0000 ext. 12", traits={"name": "Ana"})
    hub.identify(anonymous_id="a2", phone="+1 650 253 0000 x13", traits={"name": "Rui"})
    hub.identify(anonymous_id="a3", phone="+1 650 253 0000", traits={"name": "Reception"})

    ana = hub.customer(phone="+16502530000;ext=12")
    rui = hub.customer(phone="+1 (650) 253-0000 extension 13")
    desk = hub.customer(phone="+1 650 253 0000")

    assert ana is not None
    assert rui is not None
    assert desk is not None
    assert 3 == len({ana.id, rui.id, desk.id})
    assert ("+16502530000;ext=12",) == ana.identifiers("phone")
    assert ("+16502530000",) == desk.identifiers("phone")
    assert "Ana" == ana.traits["name"]


def test_a_look_alike_email_is_refused_not_folded(hub: omnikit.Hub) -> None:
    """
    An address spelt with a KELVIN SIGN for its "K" is not merged into kim@: it is refused,
    naming the character, at ingestion and at lookup.
    """
    hub.identify(user_id="u1", email="kim@example.com")
    look_alike = f"{KELVIN}im@example.com"

    with pytest.raises(omnikit.ValidationError) as info:
        hub.ingest(
            {
                "type": "identify",
                "userId": "u2",
                "traits": {"email": look_alike},
                "messageId": "m2",
                "timestamp": "2026-11-01T10:00:00Z",
            }
        )
    with pytest.raises(omnikit.ValidationError, match="U\\+212A KELVIN SIGN"):
        hub.customer(email=look_alike)

    [line] = info.value.errors
    assert line.startswith("traits.email: ")
    assert "U+212A KELVIN SIGN" in line
    assert "write it in plain ASCII" in line
    assert hub.customer(user_id="u2") is None
    assert ("kim@example.com",) == hub.customer(user_id="u1").identifiers("email")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Ana@Example.COM", "ana@example.com"),  # an ASCII mailbox: case does not matter
        (
            "jose\N{COMBINING ACUTE ACCENT}@example.com",
            "jos\N{LATIN SMALL LETTER E WITH ACUTE}@example.com",
        ),
        ("ana@EXÁMPLE.pt", "ana@exámple.pt"),  # the domain is lower-cased, as DNS reads it
        ("ana@xn--exmple-qta.pt", "ana@exámple.pt"),  # and read in Unicode
    ],
)
def test_equal_addresses_normalise_alike(one: str, other: str) -> None:
    """Case in an ASCII mailbox or a domain, and Unicode's two spellings of é, are one address."""
    assert normalize_identifier("email", one) == normalize_identifier("email", other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("JOSÉ@example.com", "josé@example.com"),
        ("ǅana@example.com", "ǆana@example.com"),
        (
            "\N{FULLWIDTH LATIN SMALL LETTER K}im@example.com",
            "kim@example.com",
        ),  # a fullwidth letter is another character
    ],
)
def test_non_ascii_mailboxes_are_not_folded(one: str, other: str) -> None:
    """No rule shared by every provider says which non-ASCII letters are equal: none are."""
    assert normalize_identifier("email", one) != normalize_identifier("email", other)


_LOCAL = st.lists(
    st.sampled_from(
        [
            *"aAzZ09._+-",
            "é",
            "É",
            "e\N{COMBINING ACUTE ACCENT}",
            KELVIN,
            "\N{ANGSTROM SIGN}",
            "ß",
            "İ",
            "\N{FULLWIDTH LATIN SMALL LETTER K}",
        ]
    ),
    min_size=1,
    max_size=12,
).map("".join)
_DOMAINS = st.sampled_from(
    ["example.com", "Example.COM", "exámple.pt", "EXÁMPLE.PT", "xn--exmple-qta.pt"]
)


@given(local=_LOCAL, domain=_DOMAINS)
def test_email_normalisation_is_idempotent(local: str, domain: str) -> None:
    """
    A normalised address normalises to itself (stored identities are found again), and its
    mailbox is lower-case ASCII or kept as Unicode spelt it.
    """
    try:
        once = normalize_identifier("email", f"{local}@{domain}")
    except omnikit.ValidationError:
        assume(False)
        return

    mailbox = once.rsplit("@", 1)[0]
    assert once == normalize_identifier("email", once)
    if mailbox.isascii():
        assert mailbox == mailbox.lower()


@given(address=st.emails())
def test_ascii_addresses_keep_their_stored_form(address: str) -> None:
    """An ASCII address normalises as it always did: rows stored before are still found."""
    try:
        checked = email_validator.validate_email(
            address, check_deliverability=False, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError:
        assume(False)
        return
    assume(address.isascii())

    assert checked.normalized.lower() == normalize_identifier("email", address)


@given(
    number=st.sampled_from(
        ["+1 650 253 0000", "+351 912 345 678", "+44 20 7123 4567", "912 345 678"]
    ),
    extension=st.none() | st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    spelling=st.sampled_from([" ext. ", " x", ";ext=", " extension "]),
)
def test_phone_normalisation_is_idempotent(
    number: str, extension: str | None, spelling: str
) -> None:
    """A normalised phone normalises to itself and keeps its extension, digit for digit."""
    raw = number if extension is None else f"{number}{spelling}{extension}"

    once = omnikit.Identity.of("phone", raw, default_region="PT").value

    assert once == normalize_identifier("phone", once)
    assert (extension is None) == (";ext=" not in once)
    if extension is not None:
        assert once.endswith(f";ext={extension}")
