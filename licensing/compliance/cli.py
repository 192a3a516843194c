"""`flask compliance ...`: recipients, outbox delivery, records."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from core.cli import emit, fail, json_option, progress, run
from core.database import db, keyset_batches, utcnow
from licensing.accounts.models import Account
from licensing.compliance import signals
from licensing.wiring import EXTENSION
from licensing.compliance.wiring import allow_plain_http, deliver, disclosure_service
from privacy.legal.models import RECIPIENT_CATEGORIES
from privacy.legal.records import RecordService, as_dict

compliance = AppGroup("compliance", help="Compliance records, recipients and disclosures.")


@compliance.command("add-recipient")
@click.argument("name")
@click.option("--category", type=click.Choice(RECIPIENT_CATEGORIES), required=True)
@click.option("--endpoint", required=True, help="https:// URL the disclosures are POSTed to")
@json_option
def add_recipient(name, category, endpoint, as_json):
    """Register a recipient NAME of disclosures."""
    recipient = run(lambda: disclosure_service().add_recipient(name, category, endpoint,
                                                               allow_plain_http()))
    payload = {"id": recipient.id, "name": recipient.name, "category": recipient.category,
               "endpoint": recipient.endpoint}
    db.session.commit()
    emit(as_json, payload, f"recipient {recipient.id} ({category}) registered")


@compliance.command("deliver")
@click.option("--now", "everything", is_flag=True,
              help="Try everything pending, ignoring the backoff.")
@json_option
def deliver_outbox(everything, as_json):
    """Deliver the disclosures that are due (run it from cron too)."""
    results = deliver(everything)
    delivered = [r.disclosure_id for r in results if r.status == "delivered"]
    failed = [r.disclosure_id for r in results if r.status == "failed"]
    pending = [{"id": r.disclosure_id, "error": r.error} for r in results
               if r.status == "pending"]
    emit(as_json, {"attempted": len(results), "delivered": delivered, "failed": failed,
                   "pending": pending},
         f"{len(results)} attempted: {len(delivered)} delivered, {len(pending)} still "
         f"pending, {len(failed)} failed")


@compliance.command("records")
@click.option("--tag", help="anti_piracy or export.compliance")
@click.option("--kind")
@click.option("--status", type=click.Choice(["open", "closed"]))
@json_option
def records(tag, kind, status, as_json):
    """List compliance records, newest first."""
    found = [as_dict(r) for r in RecordService(db.session).list(tag, kind, status)]
    db.session.rollback()
    lines = [f"{r['id']} {r['kind']} {r['subject']} x{r['count']} {r['status']}"
             + (" (hold)" if r["legal_hold"] else "") for r in found]
    emit(as_json, {"records": found}, "\n".join(lines) or "no records")


@compliance.command("screen-accounts")
@click.option("--all", "every", is_flag=True,
              help="Screen accounts whose verdict still holds as well.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@json_option
def screen_accounts(every, batch_size, as_json):
    """Screen live accounts against the denied-party list now.

    Run it when a new list is published: each account is otherwise screened
    at its next activation or refresh. A hit is recorded (export_denied_party)
    and the account's next activation or refresh is refused.
    """
    checks = current_app.extensions[EXTENSION].compliance
    if checks is None or checks.screening.version is None:
        fail("TESSERA_SCREENING is none: there is no list to screen against")
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Account)
                              .where(Account.erased_at.is_(None)))
    now, hits, walked = utcnow(), [], 0

    def batch(after, limit):
        keys, found = checks.rescreen(db.session.connection(), after, limit, now, every=every)
        hits.extend(found)
        return keys

    with progress(total, "screening accounts") as bar:
        for done in keyset_batches(batch, batch_size):
            db.session.commit()
            walked += done
            bar.update(done)
    for signal in hits:
        signals.record(signal)
    emit(as_json, {"accounts": walked, "hits": len(hits), "list": checks.screening.version},
         f"{walked} accounts walked against {checks.screening.version}: {len(hits)} on the list")


def init_app(app: Flask) -> None:
    """Register the `compliance` command group."""
    app.cli.add_command(compliance)
