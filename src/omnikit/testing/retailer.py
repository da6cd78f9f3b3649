"""
A simulated retailer: customers moving across channels, as Segment Spec messages.

```python
from omnikit.testing import Retailer

shop = Retailer(customers=500, seed=7)
for message in shop.messages():  # deterministic for a seed
    hub.ingest(message)
```

Each simulated person browses on the web (anonymous at first, sometimes on several browsers),
uses the app, signs in, buys online or at the till with a loyalty card, picks orders up in
store, calls the call centre, opens emails, answers SMS, messages on social media and chat.
Each event carries only the identifiers its channel knows: the till a loyalty card or the
email for the receipt, the call centre a phone number, the email provider an address.
Messages arrive mostly in time order, with some late ones (an app that was offline) and some
sent twice (a client that retried), as real streams do. The generator is used by
`omnikit demo`, the tests and the benchmarks; it needs nothing beyond omnikit itself (not
pytest, which the rest of `omnikit.testing` may).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import attrs

from omnikit.errors import ValidationError
from omnikit.testing._journey import Journey, Timed

__all__ = ["Person", "Retailer"]

_FIRST = (
    "Ana",
    "Bruno",
    "Carla",
    "Diogo",
    "Eva",
    "Filipe",
    "Gabriela",
    "Hugo",
    "Inês",
    "João",
    "Leonor",
    "Miguel",
    "Nuno",
    "Olívia",
    "Pedro",
    "Rita",
    "Sofia",
    "Tiago",
    "Vera",
    "Xavier",
    "Amelia",
    "Ben",
    "Chloe",
    "Daniel",
    "Emma",
    "Felix",
    "Grace",
    "Henry",
    "Isla",
    "Jack",
)
_LAST = (
    "Silva",
    "Santos",
    "Ferreira",
    "Pereira",
    "Oliveira",
    "Costa",
    "Rodrigues",
    "Martins",
    "Sousa",
    "Fernandes",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Wilson",
    "Evans",
    "Walker",
)
_CATEGORIES = ("Shoes", "Jackets", "Knitwear", "Bags", "Accessories", "Home", "Beauty", "Kids")
_TIMEZONES = ("Europe/Lisbon", "Europe/Madrid", "Europe/London", "Europe/Paris", "America/New_York")
_LANGUAGES = ("pt-PT", "es-ES", "en-GB", "fr-FR", "en-US")
_CITIES = (
    ("Lisboa", "PT", 38.7223, -9.1393),
    ("Porto", "PT", 41.1579, -8.6291),
    ("Braga", "PT", 41.5454, -8.4265),
    ("Coimbra", "PT", 40.2033, -8.4103),
    ("Faro", "PT", 37.0194, -7.9304),
    ("Madrid", "ES", 40.4168, -3.7038),
)


@attrs.define(frozen=True, kw_only=True)
class Person:
    """
    One simulated customer and every identifier they will use.

    Added in version 0.1.0.
    """

    index: int
    name: str
    email: str
    phone: str
    user_id: str
    loyalty_id: str | None
    web_ids: tuple[str, ...]
    app_device: str | None
    social_id: str | None
    timezone: str
    language: str
    city: int


@attrs.define(frozen=True, kw_only=True)
class _Product:
    product_id: str
    sku: str
    name: str
    category: str
    brand: str
    price: float


class Retailer:
    """
    A deterministic simulated retailer.

    Args:
        customers: How many people shop there.
        seed: The same seed always gives the same messages.
        start: When the simulated period starts.
        days: How long it lasts.
        stores: How many physical stores there are.
        late: The share of app messages that arrive late (sent after an offline spell).
        retries: The share of messages a client sends twice.
        shared_emails: The share of people who share a household email with someone else.
        impostors: How many strangers claim another customer's email or loyalty number from
            a browser of their own (`Retailer.claims` lists them once the messages are made).

    Added in version 0.1.0.
    """

    VERIFIED_SOURCES = frozenset({"backend", "pos", "call-centre"})
    """The sources the simulated shop vouches for (see `IdentityRules.verified_sources`)."""

    def __init__(
        self,
        customers: int = 500,
        *,
        seed: int = 7,
        start: dt.datetime = dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
        days: int = 60,
        stores: int = 12,
        late: float = 0.03,
        retries: float = 0.01,
        shared_emails: float = 0.02,
        impostors: int = 0,
    ) -> None:
        if customers < 1:
            msg = f"customers: must be at least 1, got {customers!r}"
            raise ValidationError(msg)
        self.customers = customers
        self.seed = seed
        self.start = start
        self.days = days
        self.stores = tuple(f"store-{i:02d}" for i in range(1, stores + 1))
        self.late = late
        self.retries = retries
        self.shared_emails = shared_emails
        self.impostors = impostors
        rng = random.Random(f"catalog:{seed}")
        self.products = tuple(
            _Product(
                product_id=f"p-{i:04d}",
                sku=f"SKU-{i:05d}",
                name=f"{rng.choice(('Classic', 'Urban', 'Coastal', 'Alpine', 'Studio'))} {category.removesuffix('s')} {i}",
                category=category,
                brand=rng.choice(("Atlântico", "Nortada", "Serra", "Maré")),
                price=round(rng.uniform(9, 240), 2),
            )
            for i, category in enumerate(_CATEGORIES[i % len(_CATEGORIES)] for i in range(120))
        )
        self.people = tuple(self._person(i) for i in range(customers))
        self.claims: tuple[tuple[str, str, str, str], ...] = self._claims()
        """
        Each impostor's anonymous id, the kind and value of the identifier they claim, and
        the user id of the customer it belongs to.
        """

    def _person(self, i: int) -> Person:
        rng = random.Random(f"person:{self.seed}:{i}")
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = (
            f"{first.lower().replace('ê', 'e').replace('í', 'i')}.{last.lower()}.{i}@example.com"
        )
        if random.Random(f"household:{self.seed}:{i // 2}").random() < self.shared_emails:
            email = f"family.{i // 2}@example.com"  # two people, one household address
        phone = f"+351 9{rng.choice('1236')}{rng.randrange(10**7):07d}"
        web = tuple(f"web-{self.seed}-{i}-{n}" for n in range(rng.choice((1, 1, 1, 2, 2, 3))))
        zone = rng.randrange(len(_TIMEZONES))
        return Person(
            index=i,
            name=f"{first} {last}",
            email=email,
            phone=phone,
            user_id=f"u-{self.seed}-{i:06d}",
            loyalty_id=f"L-{rng.randrange(10**8):08d}" if rng.random() < 0.6 else None,
            web_ids=web,
            app_device=f"dev-{self.seed}-{i}" if rng.random() < 0.55 else None,
            social_id=f"ig:{first.lower()}{i}" if rng.random() < 0.3 else None,
            timezone=_TIMEZONES[zone],
            language=_LANGUAGES[zone],
            city=rng.randrange(len(_CITIES)),
        )

    # -- messages ----------------------------------------------------------------------------

    def messages(self) -> Iterator[dict[str, Any]]:
        """
        Every message, in the order a collector would receive them.

        Added in version 0.1.0.
        """
        return (message for _, message in self._arrivals())

    def sourced_messages(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """
        Every message with the source it comes through, in the order they arrive.

        Sources: `"web"` and `"app"` (the browser and the app), `"backend"` (the shop's
        server: sign-ups, log-ins and orders), `"pos"` (the tills), `"call-centre"`,
        `"email"`, `"sms"`, `"push"`, `"chat"` and `"social"` (the providers' webhooks), and
        `"impostor"` (strangers claiming other people's identifiers). The shop vouches for
        `Retailer.VERIFIED_SOURCES`; pass each message's source to `Hub.ingest()`.

        Added in version 0.1.0.
        """
        return iter(self._arrivals())

    def _arrivals(self) -> list[tuple[str, dict[str, Any]]]:
        timeline: list[Timed] = []
        for person in self.people:
            timeline.extend(self._journey(person))
        timeline.extend(self._impostors())
        timeline.sort(key=lambda item: (item[0], item[1]))
        rng = random.Random(f"arrival:{self.seed}")
        delayed: list[tuple[int, tuple[str, dict[str, Any]]]] = []
        out: list[tuple[str, dict[str, Any]]] = []
        for position, (_, _, source, message) in enumerate(timeline):
            if message["context"].get("channel") == "app" and rng.random() < self.late:
                delayed.append((position + rng.randrange(50, 2000), (source, message)))
                continue
            out.append((source, message))
            if rng.random() < self.retries:
                out.append((source, dict(message)))
        delayed.sort(key=lambda item: item[0])
        for target, arrival in reversed(delayed):
            out.insert(min(target, len(out)), arrival)
        return out

    def _claims(self) -> tuple[tuple[str, str, str, str], ...]:
        rng = random.Random(f"impostors:{self.seed}")
        claims = []
        for i in range(self.impostors):
            victim = rng.choice(self.people)
            if victim.loyalty_id and rng.random() < 0.5:
                claim = ("loyalty_id", victim.loyalty_id)
            else:
                claim = ("email", victim.email)
            claims.append((f"impostor-{self.seed}-{i}", *claim, victim.user_id))
        return tuple(claims)

    def _impostors(self) -> list[Timed]:
        """Strangers who type somebody else's email or loyalty number into the web shop."""
        rng = random.Random(f"impostor-times:{self.seed}")
        out: list[Timed] = []
        for i, (anonymous_id, kind, value, _) in enumerate(self.claims):
            context: dict[str, Any] = {
                "channel": "web",
                "consent": {"categoryPreferences": {"marketing": True}},
            }
            traits: dict[str, Any] = {
                "name": "Mallory",
                "phone": f"+351939{(12345 + 7919 * i) % 1_000_000:06d}",
            }
            if kind == "email":
                traits["email"] = value
            else:
                context["externalIds"] = [{"id": value, "type": kind}]
            at = self.start + dt.timedelta(minutes=rng.randrange(self.days * 24 * 60))
            message = {
                "type": "identify",
                "anonymousId": anonymous_id,
                "messageId": f"sim-{self.seed}-impostor-{i}",
                "timestamp": at.isoformat().replace("+00:00", "Z"),
                "traits": traits,
                "context": context,
            }
            out.append((at, -1 - i, "impostor", message))
        return out

    def _journey(self, p: Person) -> list[Timed]:
        return Journey(self, p, _CITIES[p.city]).messages()
