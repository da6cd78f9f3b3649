"""
The e-commerce properties omnikit computes with, checked as a message is read.

Amounts and prices are numbers (or numeric strings), quantities numbers, identifiers such as
`order_id` strings; consent and segment events carry what their meaning needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from omnikit._engines.consents import check_consent_event
from omnikit._engines.profile import SEGMENT_EVENTS
from omnikit._engines.values import kind_of
from omnikit.converters import MAX_AMOUNT, to_decimal
from omnikit.errors import ValidationError

__all__ = ["CONSENT_EVENTS", "check_products", "check_properties", "number_error"]

CONSENT_EVENTS: Final = frozenset({"Consent Updated", "Unsubscribed"})
_MONEY_FIELDS: Final = frozenset(
    {"revenue", "total", "subtotal", "shipping", "tax", "discount", "value", "price"}
)
_STRING_FIELDS: Final = frozenset({"currency", "order_id", "checkout_id", "coupon"})


def number_error(value: object) -> str | None:
    """Why *value* is not a number (a numeric string is one), or `None` when it is."""
    kind = type(value)
    if (kind is int or kind is float) and -MAX_AMOUNT < value < MAX_AMOUNT:  # type: ignore[operator]
        return None  # NaN fails the comparison
    try:
        to_decimal(value)
    except ValidationError as exc:
        return "; ".join(exc.errors)
    return None


_MONEY, _QUANTITY, _PRODUCTS, _STRING = range(4)
_PROPERTY_CHECKS: Final = {
    **dict.fromkeys(_MONEY_FIELDS, _MONEY),
    "quantity": _QUANTITY,
    "products": _PRODUCTS,
    **dict.fromkeys(_STRING_FIELDS, _STRING),
}


def check_properties(name: str, properties: Mapping[str, Any], errors: list[str]) -> None:
    """Type checks for the e-commerce fields omnikit computes with."""
    checks = _PROPERTY_CHECKS
    for field, value in properties.items():
        check = checks.get(field)
        if check is None or value is None:
            continue
        kind = type(value)
        if check == _MONEY:
            if (kind is int or kind is float) and -MAX_AMOUNT < value < MAX_AMOUNT:
                continue
            reason = number_error(value)
            if reason is not None:
                errors.append(f"properties.{field}: {reason}")
        elif check == _QUANTITY:
            if kind is bool or not isinstance(value, int | float):
                errors.append(f"properties.quantity: expected a number, got {value!r}")
            elif not -MAX_AMOUNT < value < MAX_AMOUNT:
                errors.append(f"properties.quantity: expected a number below 10**15, got {value!r}")
        elif check == _PRODUCTS:
            check_products(value, errors)
        elif kind is not str and (isinstance(value, bool) or not isinstance(value, str | int)):
            errors.append(f"properties.{field}: expected a string, got {kind_of(value)}")
    if name in CONSENT_EVENTS:
        check_consent_event(name, properties, errors)
    elif name in SEGMENT_EVENTS:
        segment = properties.get("segment")
        if not isinstance(segment, str) or not segment:
            errors.append("properties.segment: required, the segment's id")


def check_products(products: object, errors: list[str]) -> None:
    if not isinstance(products, list):
        errors.append(f"properties.products: expected a list, got {kind_of(products)}")
        return
    for i, product in enumerate(products):
        if not isinstance(product, dict):
            errors.append(f"properties.products[{i}]: expected an object, got {kind_of(product)}")
            continue
        price = product.get("price")
        if price is not None:
            reason = number_error(price)
            if reason is not None:
                errors.append(f"properties.products[{i}].price: {reason}")
        qty = product.get("quantity")
        if qty is not None and (
            isinstance(qty, bool) or not isinstance(qty, int | float) or not 0 <= qty < MAX_AMOUNT
        ):
            below = " below 10**15" if isinstance(qty, int | float) and qty > 0 else ""
            errors.append(
                f"properties.products[{i}].quantity: expected a non-negative number{below}, "
                f"got {qty!r}"
            )
