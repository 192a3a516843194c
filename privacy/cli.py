"""`flask privacy ...`: the record of processing, retention purge, erasure, requests.

Destructive commands are dry runs unless given ``--commit``. With ``--json``
a command prints one JSON object on one line of stdout; progress bars and
messages go to stderr.
"""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from core.cli import commit_option, emit, finish, json_option, progress, run
from core.database import db, rfc3339, truncate_sqlite_wal
from privacy.audit import Access, Actor
from privacy.purposes import PRIVACY_RIGHTS
from privacy.requests.cli import requests_command
from privacy.retention import DEFAULT_BATCH_SIZE, exclusive_run, summarise
from privacy.ropa import as_text
from privacy.wiring import components, erasure_service, retention_service, ropa_document

privacy = AppGroup("privacy", help="Record of processing, retention purge, erasure.")

@privacy.command("ropa")
@json_option
def ropa(as_json):
    """Print the record of processing activities (GDPR Art 30)."""
    document = ropa_document()
    emit(as_json, document, as_text(document))


def _summary_text(summary: dict, committed: bool) -> str:
    lines = ["purged:" if committed else "dry run (nothing changed; --commit applies):"]
    for purpose, rules in summary.items():
        lines.append(f"  {purpose}")
        lines += [f"    {name}: {r['rows']} row(s) {r['action']} (after {r['retention_days']} "
                  "days)" for name, r in rules.items()]
    return "\n".join(lines)


@privacy.command("purge")
@commit_option
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE,
              show_default=True)
@json_option
def purge(commit, batch_size, as_json):
    """Apply every purpose's retention: delete or de-identify what has expired."""
    if not commit:
        service = retention_service()
        results = service.plan()
        db.session.rollback()
    else:
        with exclusive_run(db.engine) as acquired:
            if not acquired:
                click.echo("error: another purge is running (PostgreSQL advisory lock held); "
                           "try again when it has finished", err=True)
                sys.exit(1)
            service = retention_service()
            results = _apply(service, service.plan(), batch_size)
        truncate_sqlite_wal(db.engines.values())
    summary = summarise(results)
    total = sum(rows for _, rows in results)
    emit(as_json, {"committed": commit, "as_of": rfc3339(service.now), "total": total,
                   "purposes": summary}, _summary_text(summary, commit))


def _apply(service, plan, batch_size: int) -> list:
    db.session.rollback()
    results = []
    for rule, expected in plan:
        done = 0
        with progress(expected, rule.name) as bar:
            for rows in service.batches(rule, batch_size, expected):
                db.session.commit()
                done += rows
                bar.update(rows)
        results.append((rule, done))
    return results


def _erasure_text(report, commit: bool) -> str:
    lines = [("erased" if commit else "dry run (nothing changed; --commit applies): would erase")
             + f" subject {report.subject_pseudonym[:16]}..."]
    lines += [f"  {name}: {', '.join(items) or 'nothing'}" for name, items in report.erased.items()]
    lines += [f"  kept for {k.purpose}: {k.what} ({k.why})" for k in report.kept]
    if commit:
        lines.append(f"  tombstone written to {components().tombstones.path}")
    return "\n".join(lines)


@privacy.command("erase-subject")
@click.argument("username")
@commit_option
@click.option("--reason", default="erasure request (GDPR Art 17)", show_default=True,
              help="Ticket or text recorded in the access log.")
@json_option
def erase_subject(username, commit, reason, as_json):
    """Erase one subject (by USERNAME, account id or email) through every provider."""
    service = erasure_service()
    kind, subject_id = run(lambda: service.find_subject(username))
    access = Access(Actor.operator(), PRIVACY_RIGHTS, reason)
    report = run(lambda: service.erase(kind, subject_id, access))
    finish(commit)
    emit(as_json, {"committed": commit, **report.as_dict()}, _erasure_text(report, commit))


@privacy.command("replay-erasures")
@commit_option
@json_option
def replay_erasures(commit, as_json):
    """After a database restore, erase again every subject a tombstone names."""
    access = Access(Actor.operator(), PRIVACY_RIGHTS, "replay of erasure tombstones")
    report = run(lambda: erasure_service().replay(access))
    finish(commit)
    if report.unreadable:
        click.echo(f"warning: {report.unreadable} tombstone(s) were made under a pseudonym key "
                   "that is no longer configured; add that version back to replay them",
                   err=True)
    done = "erased again" if commit else "would be erased again (dry run; --commit applies)"
    emit(as_json, {"committed": commit, **report.as_dict()},
         f"{report.tombstones} tombstone(s); {len(report.erased)} subject(s) {done}")


privacy.add_command(requests_command)


def init_app(app: Flask) -> None:
    """Register the `privacy` command group."""
    app.cli.add_command(privacy)
