"""HTML views for Jupyter: what a notebook shows when a cell evaluates to a customer."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnikit._models.touchpoints import Direction, Touchpoint

if TYPE_CHECKING:  # a customer renders itself through this module, in notebooks
    from omnikit._models.consent import Consent
    from omnikit._models.customers import Customer

__all__ = ["customer_html"]

_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#1f77b4",
    "#2ca02c",
    "#d62728",
)
_STYLE = (
    "font-family:system-ui,sans-serif;font-size:13px;border-collapse:collapse;margin:4px 0 10px"
)
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"


def _e(value: object) -> str:
    return html.escape(str(value))


def _table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    head = "".join(f'<th style="{_CELL}">{_e(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in row) + "</tr>"
        for row in rows
    )
    return f'<table style="{_STYLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _timeline(touchpoints: Sequence[Touchpoint], colours: dict[str, str]) -> str:
    """One lane per channel, a dot per touchpoint (hollow when the brand reached out)."""
    if not touchpoints:
        return "<p><em>No recent touchpoints loaded.</em></p>"
    lanes = sorted({tp.channel for tp in touchpoints})
    start = min(tp.occurred_at for tp in touchpoints)
    end = max(tp.occurred_at for tp in touchpoints)
    span = max((end - start).total_seconds(), 1.0)
    width, left, lane_h = 520, 90, 22
    height = lane_h * len(lanes) + 24
    parts = [
        f'<svg width="{width + left + 10}" height="{height}" role="img" aria-label="timeline by channel">'
    ]
    for i, lane in enumerate(lanes):
        y = 12 + i * lane_h + lane_h / 2
        parts.append(f'<text x="0" y="{y + 4}" font-size="12">{_e(lane)}</text>')
        parts.append(f'<line x1="{left}" y1="{y}" x2="{left + width}" y2="{y}" stroke="#ddd"/>')
    for tp in touchpoints:
        x = left + width * (tp.occurred_at - start).total_seconds() / span
        y = 12 + lanes.index(tp.channel) * lane_h + lane_h / 2
        colour = colours[tp.channel]
        fill = colour if tp.direction is Direction.INBOUND else "white"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y}" r="5" fill="{fill}" stroke="{colour}" stroke-width="2">'
            f"<title>{_e(tp.occurred_at.isoformat())} {_e(tp.name)}</title></circle>"
        )
    parts.append(
        f'<text x="{left}" y="{height - 2}" font-size="11" fill="#666">{_e(f"{start:%Y-%m-%d %H:%M}")}</text>'
        f'<text x="{left + width}" y="{height - 2}" font-size="11" fill="#666" text-anchor="end">'
        f"{_e(f'{end:%Y-%m-%d %H:%M}')}</text></svg>"
    )
    return "".join(parts)


def _answer(consent: Consent, now: dt.datetime) -> str:
    """A consent's answer as it holds *now*: a grant past its expiry has lapsed."""
    if not consent.granted:
        return "no"
    if consent.is_expired(now):
        return "lapsed"
    return "yes"


def customer_html(customer: Customer, now: dt.datetime | None = None) -> str:
    """
    Identities, traits, consents, channels, and a timeline of recent touchpoints.

    Consents are shown as they hold at *now* (the wall clock by default).
    """
    now = dt.datetime.now(dt.UTC) if now is None else now
    stats = customer.stats
    channels = sorted({*stats.per_channel, *(tp.channel for tp in customer.recent)})
    colours = {c: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(channels)}
    out = [f'<div><h4 style="margin:4px 0">Customer {_e(customer.id)}</h4>']
    out.append(
        _table([[_e(i.kind), _e(i.value)] for i in customer.identities], ["identity", "value"])
    )
    if customer.traits:
        out.append(_table([[_e(k), _e(v)] for k, v in customer.traits.items()], ["trait", "value"]))
    if customer.consents:
        out.append(
            _table(
                [
                    [
                        _e(c.purpose),
                        _e(c.channel or "all"),
                        _answer(c, now),
                        _e(f"{c.at:%Y-%m-%d}"),
                        _e("-" if c.expires_at is None else f"{c.expires_at:%Y-%m-%d}"),
                        _e(c.source),
                    ]
                    for c in customer.consents
                ],
                ["consent", "channel", "granted", "at", "expires", "source"],
            )
        )
    out.append(
        _table(
            [
                [
                    f'<span style="color:{colours[name]}">&#9679;</span> {_e(name)}',
                    _e(f"{cs.first_seen:%Y-%m-%d}"),
                    _e(f"{cs.last_seen:%Y-%m-%d}"),
                    _e(cs.touchpoints),
                ]
                for name, cs in stats.per_channel.items()
            ],
            ["channel", "first seen", "last seen", "touchpoints"],
        )
    )
    revenue = ", ".join(f"{amount} {currency}" for currency, amount in stats.revenue.items()) or "0"
    out.append(f"<p>{stats.orders} orders, revenue {_e(revenue)}.</p>")
    out.append("<div><strong>Recent touchpoints by channel</strong></div>")
    out.append(_timeline(customer.recent, colours))
    if customer.recent:
        out.append(
            _table(
                [
                    [
                        _e(f"{tp.occurred_at:%Y-%m-%d %H:%M}"),
                        _e(tp.channel),
                        _e(tp.direction.value),
                        _e(tp.name),
                    ]
                    for tp in customer.recent
                ],
                ["when", "channel", "direction", "touchpoint"],
            )
        )
    out.append("</div>")
    return "".join(out)
