"""Command-line interface: `flask --app wsgi <group> <command>`."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from app.models import Member, Shop
from app.parsing import is_stored_id
from app.runtime import tessera

log = logging.getLogger(__name__)


def _alembic_config():
    from app.schema import alembic_config
    return alembic_config(current_app.config["DATABASE_URL"])


@click.group("db", cls=AppGroup, help="Database migrations (Alembic).")
def db_group() -> None:
    # Alembic logs each built-in plugin it sets up, at INFO, when first imported: noise on
    # every `make run`. Before that import, so it applies.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


@db_group.command("upgrade", help="Apply migrations up to REVISION (default: the latest).")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    from app.schema import upgrade
    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade", help="Revert migrations down to REVISION.")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    from alembic import command
    command.downgrade(_alembic_config(), revision)


@db_group.command("current", help="Show the applied revision.")
def db_current() -> None:
    from alembic import command
    command.current(_alembic_config(), verbose=False)


@db_group.command("revision", help="Create a migration (with --autogenerate, from the models).")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate", is_flag=True)
def db_revision(message: str, autogenerate: bool) -> None:
    from alembic import command
    command.revision(_alembic_config(), message=message, autogenerate=autogenerate)


@click.group("shops", cls=AppGroup, help="Shops that installed Tessera.")
def shops_group() -> None:
    pass


@shops_group.command("add", help="Register your own store. A Dev Dashboard app installed on the store (the way since "
                                 "2026): no --token, Tessera obtains and renews tokens by the client credentials grant "
                                 "(SHOPIFY_API_KEY/SECRET are the app's Client ID/secret). A legacy custom app created "
                                 "in the store admin: --token with its Admin API access token.")
@click.argument("shop_domain")
@click.option("--token", "admin_api_token", default=None,
              help="A legacy custom app's Admin API access token (omit for a Dev Dashboard app).")
@click.option("--no-sync", is_flag=True, help="Skip reading shop details and subscribing webhooks now.")
def shops_add(shop_domain: str, admin_api_token: str | None, no_sync: bool) -> None:
    from app.services import shops
    from app.shopify.domains import InvalidShopDomain, normalize_shop_domain

    try:
        domain = normalize_shop_domain(shop_domain)
    except InvalidShopDomain as exc:
        raise click.BadParameter(str(exc), param_hint="SHOP_DOMAIN") from exc
    t = tessera()
    grant, source = _own_store_grant(t, domain, admin_api_token)
    with t.db.scope() as session:
        shop = shops.install_shop(session, domain, grant, source=source, cipher=t.cipher, queue=t.queue, now=t.clock())
        expiry = f", token renewed before {grant.expires_at:%Y-%m-%d %H:%M}Z" if grant.expires_at else ""
        click.echo(f"added {shop.domain} (id {shop.id}, {source}{expiry})")
    if not no_sync and hasattr(t.queue, "drain"):
        _sync_now(t)


def _own_store_grant(t, domain: str, admin_api_token: str | None):
    """The token of a legacy custom app as given, or a client credentials grant from Shopify."""
    from app.shopify.admin_access import CLIENT_CREDENTIALS
    from app.shopify.oauth import AccessGrant, OAuthError

    if admin_api_token is not None:
        if not admin_api_token.strip():
            raise click.BadParameter("the token is empty", param_hint="--token")
        return AccessGrant(admin_api_token.strip(), scope=""), "custom_app"
    try:
        return t.oauth_client().client_credentials(domain, now=t.clock()), CLIENT_CREDENTIALS
    except OAuthError as exc:
        raise click.ClickException(
            f"Shopify did not grant a token for {domain}: {exc}. Check that SHOPIFY_API_KEY and SHOPIFY_API_SECRET "
            "are the Client ID and secret of a Dev Dashboard app of your organization, installed on this store "
            "(or pass --token for a legacy custom app)." + (" Nothing was saved." if exc.permanent else
                                                               " Nothing was saved; try again in a minute.")) from exc


def _sync_now(t) -> None:
    problems: list[str] = []
    t.queue.drain(t, on_error=lambda task, exc: problems.append(f"{task}: {exc}"))
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if problems:
        click.echo("The shop is saved, but its Admin API could not be reached (check the token and scopes); "
                   "run this command again to retry.", err=True)


@shops_group.command("list", help="List shops with install and token status.")
def shops_list() -> None:
    t = tessera()
    with t.db.scope(read_only=True) as session:
        counts = dict(session.execute(select(Member.shop_id, func.count()).group_by(Member.shop_id)).all())
        rows = session.scalars(select(Shop).order_by(Shop.domain)).all()
        if not rows:
            click.echo("no shops yet: install the app, or `flask --app wsgi shops add SHOP` (Dev Dashboard app)")
        for shop in rows:
            click.echo(f"{shop.domain:40} {_status(shop):24} {shop.token_source or '-':15} "
                       f"{counts.get(shop.id, 0):>8} members")


@shops_group.command("integration-token", help="Create the token other apps (e.g. a reviews app) use to call "
                                               "Tessera's /integrations endpoints for this shop. Replaces the old one.")
@click.argument("shop_domain")
def shops_integration_token(shop_domain: str) -> None:
    from app.services.integration_tokens import new_integration_token
    t = tessera()
    with t.db.scope() as session:
        shop = _find_shop_or_fail(session, shop_domain)
        click.echo(new_integration_token(session, shop))


def _status(shop: Shop) -> str:
    if not shop.is_installed:
        return "uninstalled"
    if shop.reauth_required_at:
        return "NEEDS RE-AUTHENTICATION"
    if shop.access_token_expires_at:
        return f"token expires {shop.access_token_expires_at:%H:%M}Z"
    return "installed"


def _find_shop_or_fail(session, domain: str) -> Shop:
    from app.services.shops import find_shop
    from app.shopify.domains import InvalidShopDomain, normalize_shop_domain
    try:
        shop = find_shop(session, normalize_shop_domain(domain))
    except InvalidShopDomain as exc:
        raise click.BadParameter(str(exc), param_hint="SHOP") from exc
    if shop is None:
        raise click.ClickException(f"{domain} is not a Tessera shop (see `flask --app wsgi shops list`)")
    return shop


def parse_since(value: str, now: datetime) -> datetime:
    """'7d', '12h', '30m' before now, or an ISO date/datetime (UTC)."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if is_stored_id(value[:-1]) and value[-1:] in units:
        return now - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use a duration like 7d, 12h, 30m or a date like 2025-02-01", param_hint="--since")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@click.group("loyalty", cls=AppGroup, help="Loyalty program jobs.")
def loyalty_group() -> None:
    pass


@loyalty_group.command("expire", help="Expire points and raise reminders, for every shop (set-based).")
def loyalty_expire() -> None:
    from app.services.expiry import expire_points_everywhere
    t = tessera()
    for report in expire_points_everywhere(t.db, now=t.clock()):
        click.echo(f"{report.shop}: {report.points_expired} points expired from {report.members_expired} members, "
                   f"{report.reminders} reminders raised")


@loyalty_group.command("reconcile", help="Read recently updated orders back from Shopify and repair the ledger.")
@click.option("--shop", "shop_domain", help="Only this shop (default: every installed shop).")
@click.option("--since", default="7d", show_default=True, help="Window: 7d, 12h, 30m, or a date.")
def loyalty_reconcile(shop_domain: str | None, since: str) -> None:
    from app.services.reconcile import reconcile_shop
    from app.shopify.admin_access import ShopNeedsReauth
    from app.shopify.graphql import ShopifyError
    t = tessera()
    start = parse_since(since, t.clock())
    with t.db.scope(read_only=True) as session:
        if shop_domain:
            shop_ids = [_find_shop_or_fail(session, shop_domain).id]
        else:
            shop_ids = session.scalars(select(Shop.id).where(Shop.uninstalled_at.is_(None))).all()
    failed = False
    for shop_id in shop_ids:
        with t.db.scope() as session:
            shop = session.get(Shop, shop_id)
            try:
                report = reconcile_shop(t.shopify, session, shop, since=start, clock=t.clock)
            except (ShopNeedsReauth, ShopifyError) as exc:
                click.echo(f"{shop.domain}: not reconciled: {exc}", err=True)
                failed = True
                continue
            for line in report.lines():
                click.echo(line)
    if failed:
        raise SystemExit(1)


@click.group("members", cls=AppGroup, help="Look up members.")
def members_group() -> None:
    pass


@members_group.command("show", help="A member's balance, tier and explained ledger.")
@click.argument("shop_domain")
@click.argument("customer_id", type=int)
def members_show(shop_domain: str, customer_id: int) -> None:
    from app.queries.member_state import explained, member_state
    from app.services.members import find_member
    t = tessera()
    now = t.clock()
    with t.db.scope(read_only=True) as session:
        shop = _find_shop_or_fail(session, shop_domain)
        state = member_state(session, shop, customer_id, now=now)
        member = find_member(session, shop, customer_id)
        click.echo(f"{shop.domain} customer {customer_id}" + (f" ({member.display_name})" if member else
                                                                   " (not seen yet)"))
        click.echo(f"balance: {state['balance']}  pending: {state['pending']}  "
                   f"lifetime earned: {state['lifetime_earned']}  tier: {state['tier'] or '-'}")
        if member is None:
            return
        click.echo(f"referral code: {member.referral_code}" + (f"  BLOCKED: {member.block_reason}"
                                                               if member.blocked_at else ""))
        click.echo("ledger:")
        for line in explained(session, member, now):
            pending = f" (pending until {line['pending_until'][:10]})" if line["pending_until"] else ""
            click.echo(f"  {line['at'][:19]}  {line['points']:>+7}  = {line['balance_after']:>7}  "
                       f"{line['reason']}{pending}")


@click.command("worker", help="Run background jobs: RQ worker when REDIS_URL is set, else the in-process loop.")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    t = tessera()
    try:
        t.queue.enqueue("sweep_inbox")  # deliveries a crashed process left pending are picked up at start
    except Exception:  # noqa: BLE001 - Redis down: the RQ worker polls the inbox until it is back
        log.warning("could not queue the start-up inbox sweep", exc_info=True)
    if current_app.config.get("REDIS_URL"):
        from app.jobs.workers import run_rq_worker
        run_rq_worker(t, burst=burst)
        return
    if burst:
        t.queue.drain(t)
        return
    t.queue.start(t)
    click.echo("worker running (Ctrl+C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        t.queue.stop()


@click.command("scheduler", help="Enqueue periodic jobs (inbox sweep, expiry, tiers, reconciliation) for RQ "
                                 "workers. Run one per deployment.")
@with_appcontext
def scheduler_command() -> None:
    from app.jobs.schedule import Scheduler
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: without Redis the in-process worker (`flask --app wsgi "
                                   "worker` or the web process) runs the schedule itself.")
    t = tessera()
    scheduler = Scheduler(t.queue)
    click.echo("scheduler running (Ctrl+C to stop)")
    from redis.exceptions import RedisError
    try:
        while True:
            try:
                scheduler.tick(t.clock())
            except RedisError as exc:  # Redis restarting: the next tick enqueues again
                log.warning("scheduler could not reach Redis (%s); retrying", exc)
            time.sleep(1)
    except KeyboardInterrupt:
        pass


@click.group("tokens", cls=AppGroup, help="Stored Shopify tokens (encrypted with TOKEN_ENCRYPTION_KEY).")
def tokens_group() -> None:
    pass


@tokens_group.command("reencrypt", help="Re-encrypt every stored secret under the first key of "
                                        "TOKEN_ENCRYPTION_KEY, so the older keys can then be removed.")
def tokens_reencrypt() -> None:
    from app.services.token_keys import reencrypt_stored_secrets
    t = tessera()
    report = reencrypt_stored_secrets(t.db, t.cipher)
    click.echo(f"re-encrypted {report.reencrypted}, already under the first key {report.already_current}, "
               f"changed meanwhile (left as is) {report.changed_meanwhile}, unreadable {len(report.unreadable)}")
    if report.unreadable:
        for where in report.unreadable:
            click.echo(f"unreadable: {where}", err=True)
        raise click.ClickException("some secrets no configured key can decrypt: keep the key that encrypted them "
                                   "in TOKEN_ENCRYPTION_KEY (or reinstall those shops), then run this again")


def register_cli(app: Flask) -> None:
    for command in (db_group, shops_group, loyalty_group, members_group, worker_command, scheduler_command,
                    tokens_group):
        app.cli.add_command(command)
