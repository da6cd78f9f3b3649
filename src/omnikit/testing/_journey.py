"""
One simulated person's life with the shop, as timed messages (see `omnikit.testing.Retailer`).

A `Journey` walks the phases in order: anonymous browsing, signing up, the app and its cart,
orders (at the till, or online with delivery or store pickup), marketing email and SMS, then
the call centre, social media, chat and push. Each phase draws from the person's own random
stream, so a seed always gives the same messages.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omnikit.testing.retailer import Person, Retailer, _Product

__all__ = ["Journey", "Timed"]

Timed = tuple[dt.datetime, int, str, dict[str, Any]]
"""A message with when it happened, a tie-breaker, and the source it comes through."""


def _external(value: str, kind: str) -> list[dict[str, str]]:
    return [{"id": value, "type": kind, "collection": "users", "encoding": "none"}]


class Journey:
    """The messages one person's journey makes, phase by phase."""

    def __init__(self, shop: Retailer, person: Person, city: tuple[str, str, float, float]) -> None:
        self.shop = shop
        self.p = person
        self.rng = random.Random(f"journey:{shop.seed}:{person.index}")
        self.events: list[Timed] = []
        self.counter = 0
        self.city = city
        self.home_store = shop.stores[person.city % len(shop.stores)]
        self.cart: list[_Product] = []
        self.t = shop.start + dt.timedelta(minutes=self.rng.randrange(shop.days * 24 * 60 // 3))

    def messages(self) -> list[Timed]:
        """Every phase, in order; the journey's messages."""
        self.browse()
        self.sign_up()
        self.use_app()
        for n in range(self.rng.randrange(0, 4)):
            self.buy(n)
        self.marketing()
        self.service()
        return self.events

    # -- how messages are made ---------------------------------------------------------------

    def later(self, **delta: int) -> None:
        self.t += dt.timedelta(**delta)

    def emit(self, message: dict[str, Any], source: str) -> None:
        self.counter += 1
        message.setdefault("context", {})
        message["messageId"] = f"sim-{self.shop.seed}-{self.p.index}-{self.counter}"
        message["timestamp"] = self.t.isoformat().replace("+00:00", "Z")
        self.events.append((self.t, self.p.index * 10_000 + self.counter, source, message))

    def web(self, anon: str, source: str = "web", **fields: Any) -> None:
        p = self.p
        ctx = {
            "channel": "web",
            "page": {"path": "/", "url": "https://shop.example/"},
            "locale": p.language,
            "userAgent": "Mozilla/5.0",
            "timezone": p.timezone,
        }
        ctx.update(fields.pop("context", {}))
        self.emit({"anonymousId": anon, "context": ctx, **fields}, source)

    def app(self, source: str = "app", **fields: Any) -> None:
        p = self.p
        ctx = {
            "channel": "app",
            "device": {"id": p.app_device, "type": "ios" if p.index % 2 else "android"},
            "app": {"name": "Shop", "version": "4.2.0"},
            "timezone": p.timezone,
        }
        ctx.update(fields.pop("context", {}))
        self.emit({"anonymousId": f"app-{p.app_device}", "context": ctx, **fields}, source)

    def product(self) -> _Product:
        return self.rng.choice(self.shop.products)

    @staticmethod
    def props(item: _Product, quantity: int = 1) -> dict[str, Any]:
        return {
            "product_id": item.product_id,
            "sku": item.sku,
            "name": item.name,
            "category": item.category,
            "brand": item.brand,
            "price": item.price,
            "quantity": quantity,
            "currency": "EUR",
        }

    # -- the phases --------------------------------------------------------------------------

    def browse(self) -> None:
        """Anonymous browsing on the web, perhaps on more than one browser."""
        rng = self.rng
        for anon in self.p.web_ids:
            for _ in range(rng.randrange(1, 4)):
                item = self.product()
                path = {"path": f"/p/{item.product_id}"}
                self.web(anon, type="page", name="Product", properties=path)
                self.later(seconds=rng.randrange(20, 240))
                self.web(anon, type="track", event="Product Viewed", properties=self.props(item))
                self.later(minutes=rng.randrange(1, 30))
            self.later(hours=rng.randrange(1, 48))

    def sign_up(self) -> None:
        """Who they are, their consents and preferences, as the shop's back end records them."""
        rng, p = self.rng, self.p
        traits: dict[str, Any] = {
            "name": p.name,
            "email": p.email,
            "phone": p.phone,
            "language": p.language,
            "timezone": p.timezone,
            "city": self.city[0],
        }
        if rng.random() < 0.4:
            traits["preferred_channels"] = rng.sample(["email", "sms", "push", "whatsapp"], 2)
        if rng.random() < 0.3:
            traits["quiet_hours"] = {"start": "21:00", "end": "09:00"}
        signup: dict[str, Any] = {
            "consent": {"categoryPreferences": {"marketing": rng.random() < 0.7, "analytics": True}}
        }
        if p.loyalty_id and rng.random() < 0.75:  # most members add their card to their account
            signup["externalIds"] = _external(p.loyalty_id, "loyalty_id")
        # The new account comes with the browser's session id.
        fields = {"type": "identify", "userId": p.user_id, "traits": traits, "context": signup}
        self.web(p.web_ids[0], source="backend", **fields)
        self.later(minutes=2)
        if rng.random() < 0.5:
            granted = {"channel": "sms", "purpose": "marketing", "granted": True}
            self.web(
                p.web_ids[0],
                type="track",
                userId=p.user_id,
                event="Consent Updated",
                properties=granted,
            )

    def use_app(self) -> None:
        """The app, with a cart on the phone."""
        rng, p = self.rng, self.p
        if not p.app_device:
            return
        self.later(hours=rng.randrange(2, 72))
        # Signing in on the app: the back end vouches for the app's session.
        self.app(source="backend", type="identify", userId=p.user_id, traits={"email": p.email})
        for _ in range(rng.randrange(1, 4)):
            item = self.product()
            self.later(minutes=rng.randrange(1, 20))
            viewed = self.props(item)
            self.app(type="track", userId=p.user_id, event="Product Viewed", properties=viewed)
            if rng.random() < 0.6:
                self.cart.append(item)
                self.later(seconds=rng.randrange(5, 90))
                added = self.props(item)
                self.app(type="track", userId=p.user_id, event="Product Added", properties=added)

    def buy(self, n: int) -> None:
        """The *n*-th order: at the till, or online with delivery or store pickup."""
        rng = self.rng
        self.later(days=rng.randrange(1, max(2, self.shop.days // 4)), minutes=rng.randrange(600))
        items = self.cart or [self.product() for _ in range(rng.randrange(1, 3))]
        self.cart = []
        lines = [self.props(item, rng.choice((1, 1, 2))) for item in items]
        total = round(sum(line["price"] * line["quantity"] for line in lines), 2)
        order_id = f"o-{self.shop.seed}-{self.p.index}-{n}"
        if rng.random() < 0.35:
            self.at_the_till(order_id, lines, total)
        else:
            self.online(order_id, lines, total)

    def at_the_till(self, order_id: str, lines: list[dict[str, Any]], total: float) -> None:
        """An order at the till, with the loyalty card if they have one."""
        p, (city, country, lat, lon) = self.p, self.city
        store = self.rng.choice((self.home_store, self.rng.choice(self.shop.stores)))
        location = {"city": city, "country": country, "latitude": lat, "longitude": lon}
        ctx: dict[str, Any] = {
            "channel": "store",
            "store_id": store,
            "source": "pos",
            "location": location,
        }
        # The till knows the customer by their card, or by the email they give for the
        # receipt: no user id, no anonymous id.
        if p.loyalty_id:
            ctx["externalIds"] = _external(p.loyalty_id, "loyalty_id")
        else:
            ctx["traits"] = {"email": p.email}
        properties = {
            "order_id": order_id,
            "total": total,
            "revenue": total,
            "currency": "EUR",
            "products": lines,
            "fulfilment": {"option": "in_store", "store_id": store},
        }
        self.sourced("Order Completed", ctx, properties, "pos")

    def online(self, order_id: str, lines: list[dict[str, Any]], total: float) -> None:
        """An order on the web or in the app, confirmed by email, then picked up or delivered."""
        rng, p = self.rng, self.p
        channel = "app" if p.app_device and rng.random() < 0.5 else "web"
        pickup = rng.random() < 0.45
        fulfilment = (
            {"option": "store_pickup", "store_id": self.home_store}
            if pickup
            else {"option": "home_delivery"}
        )
        checkout = {"order_id": order_id, "value": total, "currency": "EUR", "products": lines}
        order = {**checkout, "total": total, "revenue": total, "fulfilment": fulfilment}
        if channel == "app":
            self.app(type="track", userId=p.user_id, event="Checkout Started", properties=checkout)
            self.later(minutes=rng.randrange(1, 10))
            # The order is the shop's own record.
            self.app(
                source="backend",
                type="track",
                userId=p.user_id,
                event="Order Completed",
                properties=order,
            )
        else:
            anon = p.web_ids[-1]
            fields = {"type": "track", "userId": p.user_id}
            self.web(anon, event="Checkout Started", properties=checkout, **fields)
            self.later(minutes=rng.randrange(1, 10))
            self.web(anon, source="backend", event="Order Completed", properties=order, **fields)
        self.later(minutes=5)
        confirmed = {"email_subject": f"Order {order_id} confirmed", "order_id": order_id}
        self.emit(
            {
                "type": "track",
                "event": "Email Delivered",
                "userId": p.user_id,
                "context": {"channel": "email", "traits": {"email": p.email}},
                "properties": confirmed,
            },
            "email",
        )
        if pickup:
            self.picked_up(order_id)
        else:
            self.later(days=rng.randrange(1, 4))
            self.emit(
                {
                    "type": "track",
                    "event": "Order Delivered",
                    "userId": p.user_id,
                    "context": {"channel": "email", "direction": "outbound"},
                    "properties": {"order_id": order_id},
                },
                "backend",
            )

    def picked_up(self, order_id: str) -> None:
        """An SMS when the order is ready, then the till when they collect it."""
        rng, p, store = self.rng, self.p, self.home_store
        self.later(hours=rng.randrange(4, 48))
        ready = {"channel": "sms", "traits": {"phone": p.phone}, "store_id": store}
        self.emit(
            {
                "type": "track",
                "event": "Order Ready for Pickup",
                "userId": p.user_id,
                "context": ready,
                "properties": {"order_id": order_id},
            },
            "sms",
        )
        self.later(hours=rng.randrange(2, 72))
        till = {
            "channel": "store",
            "store_id": store,
            "source": "pos",
            "traits": {"phone": p.phone},
        }
        self.emit(
            {
                "type": "track",
                "event": "Order Picked Up",
                "context": till,
                "properties": {"order_id": order_id},
            },
            "pos",
        )

    def marketing(self) -> None:
        """Marketing email and SMS, and what they do with them."""
        rng, p = self.rng, self.p
        for _ in range(rng.randrange(0, 3)):
            self.later(days=rng.randrange(1, 10))
            self.campaign_email("Email Delivered")
            if rng.random() < 0.5:
                self.later(hours=rng.randrange(1, 30))
                self.campaign_email("Email Opened")
        if rng.random() < 0.35:
            self.later(days=rng.randrange(1, 5))
            body = rng.choice(("YES", "Is my order on its way?", "STOP"))
            sms = {"channel": "sms", "traits": {"phone": p.phone}}
            self.sourced("Message Received", sms, {"body": body}, "sms")

    def campaign_email(self, name: str) -> None:
        email = {
            "channel": "email",
            "traits": {"email": self.p.email},
            "campaign": {"name": "autumn"},
        }
        self.sourced(name, email, {"email_subject": "New season"}, "email")

    def sourced(
        self, event: str, context: dict[str, Any], properties: dict[str, Any], source: str
    ) -> None:
        """A `track` message with only the identifiers *context* carries (a provider, a till)."""
        message = {"type": "track", "event": event, "context": context, "properties": properties}
        self.emit(message, source)

    def service(self) -> None:
        """The call centre, social media, chat and push."""
        rng, p = self.rng, self.p
        if rng.random() < 0.3:
            self.later(days=rng.randrange(1, 8))
            call = {
                "channel": "phone",
                "agent": f"agent-{rng.randrange(1, 30):02d}",
                "traits": {"phone": p.phone},
            }
            reason = {
                "reason": rng.choice(("delivery", "returns", "sizing")),
                "duration_s": rng.randrange(60, 900),
            }
            self.sourced("Call Completed", call, reason, "call-centre")
        if p.social_id:
            self.later(days=rng.randrange(1, 8))
            ctx: dict[str, Any] = {
                "channel": "social",
                "externalIds": _external(p.social_id, "social_id"),
            }
            if rng.random() < 0.6:
                ctx["traits"] = {"email": p.email}
            body = {"network": "instagram", "body": "Do you have this in blue?"}
            self.sourced("Message Received", ctx, body, "social")
        if rng.random() < 0.2:
            self.later(days=rng.randrange(1, 8))
            self.emit(
                {
                    "type": "track",
                    "event": "Conversation Started",
                    "userId": p.user_id,
                    "context": {"channel": "chat"},
                    "properties": {"topic": "returns"},
                },
                "chat",
            )
        if p.app_device and rng.random() < 0.5:
            self.later(days=rng.randrange(1, 6))
            self.emit(
                {
                    "type": "track",
                    "event": "Push Notification Delivered",
                    "userId": p.user_id,
                    "context": {"channel": "push", "device": {"id": p.app_device}},
                    "properties": {"title": "Back in stock"},
                },
                "push",
            )
