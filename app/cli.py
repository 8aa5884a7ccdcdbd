"""Command-line interface: `flask --app wsgi <group> <command>`."""
from __future__ import annotations

import logging
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from app.models import Member, Shop
from app.runtime import tessera

log = logging.getLogger(__name__)


def _alembic_config():
    from app.schema import alembic_config
    return alembic_config(current_app.config["DATABASE_URL"])


@click.group("db", cls=AppGroup, help="Database migrations (Alembic).")
def db_group() -> None:
    pass


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


@shops_group.command("add", help="Register a shop installed as a custom app (Admin API token from the "
                                 "shop's admin: Settings > Apps > Develop apps).")
@click.argument("shop_domain")
@click.option("--token", "admin_api_token", required=True, help="The custom app's Admin API access token.")
@click.option("--no-sync", is_flag=True, help="Skip reading shop details and subscribing webhooks now.")
def shops_add(shop_domain: str, admin_api_token: str, no_sync: bool) -> None:
    from app.services import shops
    from app.shopify.domains import InvalidShopDomain, normalize_shop_domain
    from app.shopify.oauth import AccessGrant

    try:
        domain = normalize_shop_domain(shop_domain)
    except InvalidShopDomain as exc:
        raise click.BadParameter(str(exc), param_hint="SHOP_DOMAIN") from exc
    if not admin_api_token.strip():
        raise click.BadParameter("the token is empty", param_hint="--token")
    t = tessera()
    with t.db.scope() as session:
        shop = shops.install_shop(t, session, domain, AccessGrant(admin_api_token.strip(), scope=""),
                                  source="custom_app")
        click.echo(f"added {shop.domain} (id {shop.id})")
    if not no_sync and hasattr(t.queue, "drain"):
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
            click.echo("no shops yet: install the app, or `flask --app wsgi shops add SHOP --token TOKEN`")
        for shop in rows:
            click.echo(f"{shop.domain:40} {_status(shop):24} {shop.token_source or '-':15} "
                       f"{counts.get(shop.id, 0):>8} members")


def _status(shop: Shop) -> str:
    if not shop.is_installed:
        return "uninstalled"
    if shop.reauth_required_at:
        return "NEEDS RE-AUTHENTICATION"
    if shop.access_token_expires_at:
        return f"token expires {shop.access_token_expires_at:%H:%M}Z"
    return "installed"


@click.command("worker", help="Run background jobs: RQ worker when REDIS_URL is set, else the in-process loop.")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    t = tessera()
    t.queue.enqueue("sweep_inbox")  # deliveries a crashed process left pending are picked up at start
    if current_app.config.get("REDIS_URL"):
        from rq import Worker
        Worker([t.queue.rq], connection=t.queue.redis).work(burst=burst, with_scheduler=False)
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


@click.command("scheduler", help="Enqueue periodic jobs (inbox sweep, expiry, reconciliation) for RQ workers.")
@with_appcontext
def scheduler_command() -> None:
    from app.jobs.schedule import Scheduler
    t = tessera()
    scheduler = Scheduler(t.queue)
    click.echo("scheduler running (Ctrl+C to stop)")
    while True:
        scheduler.tick(t.clock())
        time.sleep(1)


def register_cli(app: Flask) -> None:
    for command in (db_group, shops_group, worker_command, scheduler_command):
        app.cli.add_command(command)
