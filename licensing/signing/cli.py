"""`flask keys ...`: lease-signing keys (init, rotate) and vault and pseudonym key rotation.

To rotate, give every instance the new key, make it current, restart, then
run `keys rotate-vault --check-url` for each instance (the README's runbook);
`keys add-key` prepends one in the embedded profile's secrets.json. `keys
status` shows when an old key is no longer needed and may be removed.
"""

from __future__ import annotations

from pathlib import Path

import click
import requests
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from config.settings import ConfigurationError, add_generated_key
from core.cli import fail, json_option, progress, report
from core.database import db, rfc3339
from licensing.accounts.directory import AccountDirectory
from licensing.signing.rotation import key_status
from licensing.wiring import components, key_service
from privacy.vault import VaultRotation
from privacy.wiring import components as privacy_components

keys = AppGroup("keys", help="Manage lease-signing keys, and rotate vault and pseudonym keys.")


@keys.command("init")
@json_option
def init_keys(as_json):
    """Create the first signing key if there is none (safe to repeat)."""
    key = key_service().ensure()
    report(as_json, {"kid": key.kid}, f"signing key {key.kid} in use")


@keys.command("rotate")
@click.option("--publish-ahead", type=click.IntRange(min=0), default=None,
              help="Seconds the new key is published before it signs "
                   "(default: twice the key cache time).")
@json_option
def rotate_keys(publish_ahead, as_json):
    """Publish a new signing key; old leases keep verifying until they expire."""
    ahead = publish_ahead if publish_ahead is not None else (
        2 * current_app.config["TESSERA_KEY_CACHE_SECONDS"])
    key = key_service().rotate(ahead)
    components().signers.clear()
    report(as_json, {"kid": key.kid, "activates_at": rfc3339(key.activates_at)},
           f"new signing key {key.kid} published; signs from {rfc3339(key.activates_at)}")


@click.command("rotate-vault")
@with_appcontext
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--check-url", "check_urls", multiple=True, metavar="URL",
              help="Base URL of one running instance (repeat for each): refuse unless its "
                   "/readyz reports the keys this run writes with.")
@click.option("--service-stopped", is_flag=True,
              help="No instance is running, so none needs checking.")
@json_option
def rotate_vault(batch_size, check_urls, service_stopped, as_json):
    """Re-encrypt vault fields under the current vault key and re-index emails under the
    current pseudonym key, once every running instance holds both (see --check-url)."""
    parts = privacy_components()
    _check_instances(check_urls, service_stopped, parts)
    rotation = VaultRotation(db.session, parts.vault, db.metadata)
    resealed = {}
    for table in rotation.tables:
        resealed[table.name] = _in_batches(f"vault {table.name}", rotation.count(table),
                                           rotation.batches(table, batch_size))
    directory = AccountDirectory(db.session, parts.pseudonymizer)
    reindexed = _in_batches("email index", directory.stale_index_count(),
                            directory.reindex_batches(batch_size))
    components().signers.clear()
    payload = {"vault_key": parts.vault.current_key_id, "rows_resealed": resealed,
               "pseudonym_version": parts.pseudonymizer.current_version,
               "emails_reindexed": reindexed}
    report(as_json, payload,
           f"vault fields now under {parts.vault.current_key_id}: "
           + ", ".join(f"{t} {n} row(s)" for t, n in resealed.items())
           + f"; {reindexed} email index(es) moved to pseudonym key "
             f"{parts.pseudonymizer.current_version}")


def _check_instances(urls: tuple[str, ...], service_stopped: bool, parts) -> None:
    """Refuse unless every running instance holds the keys this run writes with.

    An instance that lacks them could not read a single resealed row; its
    /readyz lists the key ids it holds.
    """
    if not urls and not service_stopped:
        fail("name every running instance with --check-url URL (its /readyz must list the "
             "new keys), or pass --service-stopped when none is running")
    wanted = {"vault": parts.vault.current_key_id,
              "pseudonym": str(parts.pseudonymizer.current_version)}
    for url in urls:
        held = _keys_held(url)
        lacking = [f"{ring} key {key_id}" for ring, key_id in wanted.items()
                   if key_id not in held.get(ring, [])]
        if lacking:
            fail(f"the instance at {url} does not hold {' and '.join(lacking)}: configure it "
                 "there and restart it, then run rotate-vault again", "KEY_NOT_DEPLOYED")


def _keys_held(url: str) -> dict:
    try:
        answer = requests.get(url.rstrip("/") + "/readyz", timeout=10)
        keys = answer.json().get("keys")
    except (requests.RequestException, ValueError, AttributeError) as exc:
        fail(f"could not read {url}/readyz ({type(exc).__name__})", "UNAVAILABLE")
    if not isinstance(keys, dict):
        fail(f"{url}/readyz lists no key ids: upgrade that instance first", "UNAVAILABLE")
    return keys


def _in_batches(label: str, total: int, batches) -> int:
    """Drive a batch generator with a progress bar, committing after every batch."""
    db.session.commit()
    done = 0
    with progress(total, label) as bar:
        for rows in batches:
            db.session.commit()
            done += rows
            bar.update(rows)
    return done


@click.command("status")
@with_appcontext
@json_option
def status(as_json):
    """Which vault and pseudonym keys are configured, and what stored data each still seals."""
    parts = privacy_components()
    payload = key_status(db.session, parts.vault, parts.pseudonymizer, db.metadata)
    lines = []
    for keyring in ("vault", "pseudonym"):
        state = payload[keyring]
        lines.append(f"{keyring}: current {state['current']}, configured "
                     f"{', '.join(map(str, state['configured']))}")
        lines += [f"  {place}: " + (", ".join(f"{k} {n}" for k, n in counts.items() if n)
                                   or "empty") for place, counts in state["in_use"].items()]
    report(as_json, payload, "\n".join(lines))


@click.command("add-key")
@with_appcontext
@click.argument("keyring", type=click.Choice(["vault", "pseudonym"]))
@json_option
def add_key(keyring, as_json):
    """Prepend a new vault or pseudonym key to the embedded profile's secrets.json."""
    name = {"vault": "TESSERA_VAULT_KEYS", "pseudonym": "TESSERA_PSEUDONYM_KEYS"}[keyring]
    if current_app.config["TESSERA_ENV"] == "production":
        fail(f"in production {name} comes from the environment; prepend the new key there")
    try:
        key_id = add_generated_key(Path(current_app.config["TESSERA_INSTANCE_DIR"]), name)
    except ConfigurationError as exc:
        fail(str(exc))
    follow_up = ("flask keys rotate-vault" if keyring == "vault" else
                 "flask keys rotate-vault (re-indexes emails); seats move at their next "
                 "activation or refresh with a fingerprint")
    click.echo(f"restart the service so it uses the new key, then run: {follow_up} "
               "--check-url URL", err=True)
    report(as_json, {"keyring": keyring, "key_id": key_id},
           f"new {keyring} key {key_id} is now current in secrets.json")


def init_app(app: Flask) -> None:
    """Register the `keys` group with its rotation commands."""
    for command in (rotate_vault, status, add_key):
        keys.add_command(command)
    app.cli.add_command(keys)

