"""The `omnikit` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from omnikit import _demo_send
from omnikit._engines.identity import IdentityRules
from omnikit._hub import Hub
from omnikit._load import find_files
from omnikit._models.customers import Customer
from omnikit._models.results import LoadReport
from omnikit.errors import OmnikitError, ValidationError
from omnikit.testing.retailer import Retailer

__all__ = ["main"]

_CHUNK = 1000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omnikit", description="The omnichannel customer toolkit."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="simulate a retailer and show one customer across every channel",
        description=(
            "Simulate a retailer whose customers browse on the web, fill carts in the app, pay "
            "and pick up in store, call the call centre, open emails, answer SMS and message on "
            "social media; ingest it all into SQLite and show what was unified."
        ),
    )
    demo.add_argument("--customers", type=int, default=500, help="how many people (default: 500)")
    demo.add_argument(
        "--seed",
        type=int,
        default=7,
        help="random seed; the same seed gives the same data (default: 7)",
    )
    demo.add_argument(
        "--db",
        type=Path,
        default=Path("omnikit-demo.db"),
        help="SQLite file (default: ./omnikit-demo.db)",
    )
    demo.add_argument("--fresh", action="store_true", help="delete the database file first")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    _load_parser(commands)
    return parser


def _load_parser(commands: Any) -> None:
    load = commands.add_parser(
        "load",
        help="load history from NDJSON, JSON or Parquet files into a store",
        description=(
            "Load Segment Spec messages from files into a store, as ingesting them would: "
            "NDJSON (.ndjson, .jsonl, .json with one message per line), JSON arrays (.json), "
            "each optionally gzipped (.gz), and Parquet (.parquet, with omnikit[load]). "
            "Lines that are not valid are reported with their file and line; the others "
            "are kept. Running the same load again changes nothing, so an interrupted load "
            "is finished by running it again."
        ),
        epilog=(
            "exit status: 0 when every message was loaded (or was there already); 1 when "
            "some were rejected (the others are loaded); 2 for a usage error (an option, or "
            "a PATH that names no file to read); 3 when the load stopped part-way (the store "
            "failed): what was loaded stays, and running the same load again resumes it"
        ),
    )
    load.add_argument(
        "paths", nargs="+", metavar="PATH", help="a file, a folder, or a glob ('data/*.ndjson.gz')"
    )
    load.add_argument(
        "--db",
        required=True,
        metavar="URL",
        help="the store: a URL (sqlite:///shop.db, postgresql://...) or a SQLite file path",
    )
    load.add_argument(
        "--source", help="where the history comes from (pos, backend...), as for Hub.ingest()"
    )
    load.add_argument(
        "--batch-size",
        type=int,
        default=5000,
        metavar="N",
        help="messages handed to ingestion at a time (default: 5000)",
    )
    load.add_argument(
        "--default-region", metavar="CC", help="region of phone numbers without a country code"
    )
    load.add_argument(
        "--default-timezone", metavar="ZONE", help="zone of timestamps without a UTC offset"
    )
    load.add_argument("--quiet", action="store_true", help="no progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    if args.version:
        from importlib.metadata import version  # noqa: PLC0415

        print(f"omnikit {version('omnikit')}")  # noqa: T201
        return 0
    if args.command == "demo":
        if args.customers < 1:
            print("omnikit demo: --customers must be at least 1", file=sys.stderr)  # noqa: T201
            return 2
        try:
            status = demo(
                customers=args.customers,
                seed=args.seed,
                db=args.db,
                fresh=args.fresh,
                quiet=args.quiet,
            )
            sys.stdout.flush()  # a pipe's buffer is written here, where its errors are caught
        except OmnikitError as exc:
            print(f"omnikit demo: {exc}", file=sys.stderr)  # noqa: T201
            return 1
        except BrokenPipeError:
            # The reader went away (`omnikit demo | head`): stop quietly, as Unix tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit doesn't fail again
            return 141  # 128 + SIGPIPE, what a shell reports for a tool stopped this way
        else:
            return status
    if args.command == "load":
        return _load_command(args)
    _parser().print_help()
    return 2


def demo(
    *, customers: int, seed: int, db: Path, fresh: bool, quiet: bool, out: TextIO | None = None
) -> int:
    """Simulate, ingest into SQLite, and print what was unified."""
    out = out or sys.stdout

    def say(text: str = "") -> None:
        print(text, file=out)

    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    # A few strangers claim customers' emails and loyalty numbers from browsers of their own.
    shop = Retailer(customers, seed=seed, impostors=max(1, customers // 100))
    messages = list(shop.sourced_messages())
    say(
        f"omnikit demo: {customers} simulated customers (seed {seed}), {len(messages)} messages -> {db}"
    )
    started = time.perf_counter()
    accepted = duplicates = rejected = 0
    sources: Counter[str] = Counter()
    rules = IdentityRules(verified_sources=Retailer.VERIFIED_SOURCES)
    with Hub.open(
        f"sqlite:///{db.resolve()}",
        default_region="PT",
        identity_rules=rules,
        connectors=_demo_send.connectors(),
        contact_policy=_demo_send.POLICY,
    ) as hub:
        bar = tqdm(
            total=len(messages),
            unit="msg",
            disable=quiet or len(messages) < 5 * _CHUNK,
            file=sys.stderr,
            desc="ingesting",
        )
        with bar:
            for start in range(0, len(messages), _CHUNK):
                batch = messages[start : start + _CHUNK]
                # One call per source, as a host's collectors would hand them over; the order
                # within a chunk does not matter, identity resolution follows event time.
                by_source: dict[str, list[dict[str, object]]] = {}
                for source, message in batch:
                    by_source.setdefault(source, []).append(message)
                for source, group in by_source.items():
                    result = hub.ingest({"batch": group}, source=source)
                    accepted += len(result.accepted)
                    duplicates += len(result.duplicates)
                    rejected += len(result.rejected)
                    sources[source] += len(group)
                bar.update(len(batch))
        elapsed = time.perf_counter() - started
        say(
            f"ingested in {elapsed:.1f} s ({len(messages) / elapsed:,.0f} messages/s): "
            f"{accepted} new, {duplicates} duplicates ignored, {rejected} rejected"
        )
        if accepted == 0 and duplicates:
            say(
                "  (everything was already in the database: ingestion is idempotent; --fresh starts over)"
            )
        best = _report(hub, say)
        _trust(hub, shop, sources, say)
        end = shop.start + dt.timedelta(days=shop.days)
        _demo_send.campaign(hub, say, at=end.replace(hour=19, minute=30))
        if best is not None:
            say()
            _view(hub, best, say)
    return 0


def _trust(hub: Hub, shop: Retailer, sources: Counter[str], say: Callable[..., None]) -> None:
    verified = sum(n for source, n in sources.items() if source in Retailer.VERIFIED_SOURCES)
    say()
    say("Trust")
    say(
        f"  {verified} messages from sources the shop vouches for "
        f"({', '.join(sorted(Retailer.VERIFIED_SOURCES))}), {sum(sources.values()) - verified} claims"
    )
    reached = 0
    for anonymous_id, _, _, user_id in shop.claims:
        stranger = hub.customer(anonymous_id=anonymous_id)
        owner = hub.customer(user_id=user_id)
        reached += stranger is not None and owner is not None and stranger.id == owner.id
    say(
        f"  {len(shop.claims)} strangers claimed a customer's email or loyalty card from their own "
        f"browser: {reached} reached that customer's profile"
    )


def _report(hub: Hub, say: Callable[..., None]) -> Customer | None:
    """Print what was stitched; return the customer seen on the most channels."""
    identities: Counter[str] = Counter()
    by_channels: Counter[int] = Counter()
    known = anonymous = stitched_anonymous = 0
    best: Customer | None = None
    total = 0
    for customer in hub.customers():
        total += 1
        kinds = Counter(i.kind for i in customer.identities)
        identities.update(kinds)
        by_channels[len(customer.stats.channels)] += 1
        if kinds["user_id"] or kinds["email"] or kinds["loyalty_id"]:
            known += 1
            stitched_anonymous += kinds["anonymous_id"]
        else:
            anonymous += 1
        if best is None or (
            len(customer.stats.channels),
            customer.stats.touchpoints,
            customer.id,
        ) > (
            len(best.stats.channels),
            best.stats.touchpoints,
            best.id,
        ):
            best = customer
    say()
    say("Identities stitched")
    say(
        f"  {sum(identities.values())} identities -> {total} customer profiles ({known} known, {anonymous} anonymous)"
    )
    for kind, n in identities.most_common():
        say(f"    {kind:<14} {n:>7}")
    say(f"  {stitched_anonymous} anonymous browser/app ids were stitched to known customers")
    say()
    say("Customers by number of channels used")
    for n in sorted(by_channels):
        bar = "#" * max(1, round(40 * by_channels[n] / max(total, 1)))
        say(f"  {n:>2} channel{'s' if n != 1 else ' '} {by_channels[n]:>7}  {bar}")
    say()
    say("Touchpoints per channel")
    for channel, n in sorted(hub.store.touchpoint_counts().items(), key=lambda kv: -kv[1]):
        label = hub.channels[channel].title if channel in hub.channels else channel
        say(f"  {label:<18} {n:>8}")
    return best


def _view(hub: Hub, customer: Customer, say: Callable[..., None]) -> None:
    say(f"One customer, 360 degrees: {customer.id}")
    say(f"  name         {customer.traits.get('name', '?')}")
    for identity in customer.identities:
        say(f"  {identity.kind:<12} {identity.value}")
    prefs = customer.preferences
    say(f"  language     {prefs.language or '-'}; time zone {prefs.timezone or '-'}")
    if prefs.preferred_channels:
        say(f"  prefers      {', '.join(prefs.preferred_channels)}")
    now = hub.clock()
    for consent in customer.consents:
        where = consent.channel or "all channels"
        answer = "yes" if consent.granted else "no"
        if consent.expires_at is not None:
            lapse = "expired" if consent.is_expired(now) else "until"
            answer += f", {lapse} {consent.expires_at:%Y-%m-%d}"
        say(f"  consent      {consent.purpose} on {where}: {answer} ({consent.at:%Y-%m-%d})")
    stats = customer.stats
    revenue = ", ".join(f"{amount} {currency}" for currency, amount in stats.revenue.items()) or "-"
    say(f"  orders       {stats.orders} ({revenue})")
    say(f"  channels     {' -> '.join(stats.channels)}")
    for order in hub.orders(customer):
        fulfilment = order.fulfilment
        how = f"{fulfilment.option.value}, {fulfilment.status.value}" if fulfilment else "-"
        where = f" at {fulfilment.store_id}" if fulfilment and fulfilment.store_id else ""
        say(
            f"  order        {order.order_id}: {order.total} {order.currency} via {order.channel} ({how}{where})"
        )
    merges = hub.merges(customer)
    say(f"  merges       {len(merges)} profiles joined into this one")
    say("  timeline")
    for tp in hub.touchpoints(customer):
        say(
            f"    {tp.occurred_at:%Y-%m-%d %H:%M}  {tp.channel:<7} {tp.direction.value:<8} {tp.name}"
        )


# -- load ----------------------------------------------------------------------------------------

_SHOWN = 20
"""The most rejected lines listed one by one."""


def _load_command(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        print("omnikit load: --batch-size must be at least 1", file=sys.stderr)  # noqa: T201
        return 2
    url = args.db if "://" in args.db else f"sqlite:///{Path(args.db).resolve()}"
    options = {"default_region": args.default_region, "default_timezone": args.default_timezone}
    quiet = args.quiet or not (sys.stdout.isatty() and sys.stderr.isatty())
    try:
        with Hub.open(url, **options) as hub:
            report = load(
                hub, args.paths, source=args.source, batch_size=args.batch_size, quiet=quiet
            )
    except OmnikitError as exc:
        print(f"omnikit load: {exc}", file=sys.stderr)  # noqa: T201
        if isinstance(exc.partial, LoadReport):
            print(_summary(exc.partial), file=sys.stderr)  # noqa: T201
            print("omnikit load: run the same load again to resume", file=sys.stderr)  # noqa: T201
        return 2 if isinstance(exc, ValidationError) and exc.partial is None else 3
    return 0 if report.ok else 1


def load(
    hub: Hub,
    paths: Sequence[str],
    *,
    source: str | None,
    batch_size: int,
    quiet: bool,
    out: TextIO | None = None,
) -> LoadReport:
    """Load *paths* into *hub* with a progress bar, and print what became of every line."""
    out = out or sys.stdout
    files = find_files(paths)
    started = time.perf_counter()
    bar = tqdm(unit="msg", disable=quiet, file=sys.stderr, desc="loading")
    done = 0

    def progress(report: LoadReport) -> None:
        nonlocal done
        bar.set_description(f"loading file {len(report.files)}/{len(files)}")
        bar.update(report.lines - done)
        done = report.lines

    with bar:
        report = hub.load(files, source=source, batch_size=batch_size, progress=progress)
    elapsed = time.perf_counter() - started
    print(_summary(report, elapsed), file=out)
    for rejection in report.rejected[:_SHOWN]:
        print(f"  {rejection.path}:{rejection.line}: {rejection.reason}", file=out)
    if len(report.rejected) > _SHOWN:
        print(f"  ... and {len(report.rejected) - _SHOWN} more", file=out)
    return report


def _summary(report: LoadReport, elapsed: float | None = None) -> str:
    files = f"{len(report.files)} file{'s' if len(report.files) != 1 else ''}"
    rate = ""
    if elapsed:
        rate = f" in {elapsed:.1f} s ({report.lines / elapsed:,.0f} messages/s)"
    return (
        f"omnikit load: {report.lines} message{'s' if report.lines != 1 else ''} from {files}{rate}: {report.accepted} new, "
        f"{report.duplicates} already there, {report.suppressed} suppressed, "
        f"{len(report.rejected)} rejected"
    )
