"""Which keys the stored data still depends on, so an old key is dropped only when unused.

Pseudonyms cannot be recomputed without the raw value, so a seat moves to a
new pseudonym key only when its device presents its fingerprint again (an
activation, or a refresh that sends it); emails can be re-indexed at once,
since the vault holds them. `flask keys status` shows what is left.
"""

from __future__ import annotations

import sqlalchemy as sa

from licensing.accounts.models import Account, CustomerSession
from licensing.activation.models import Seat
from licensing.catalog.models import ActivationCode
from licensing.support.models import StaffConsoleSession, StaffToken
from privacy.models import AccessLogEntry
from privacy.pseudonym import Pseudonymizer
from privacy.vault import Vault, VaultRotation

# Each pseudonymised value, its version column, and when the row holds one.
PSEUDONYM_VERSIONS = {
    "seats.device_pseudonym": (Seat.device_key_version, Seat.device_pseudonym.isnot(None)),
    "accounts.email_index": (Account.email_index_version, Account.email_index.isnot(None)),
    "activation_codes.code_hmac": (ActivationCode.key_version, sa.true()),
    "staff_tokens.token_hmac": (StaffToken.key_version, sa.true()),
    "staff_console_sessions.token_hmac": (StaffConsoleSession.key_version, sa.true()),
    "customer_sessions.token_hmac": (CustomerSession.key_version, sa.true()),
    "access_log.subject_pseudonym": (AccessLogEntry.subject_key_version, sa.true()),
}


def pseudonym_usage(session) -> dict[str, dict[str, int]]:
    """For each pseudonymised column: how many values each key version made."""
    usage = {}
    for place, (version, present) in PSEUDONYM_VERSIONS.items():
        rows = session.execute(sa.select(version, sa.func.count()).where(present)
                               .group_by(version).order_by(version))
        usage[place] = {str(v): n for v, n in rows}
    return usage


def key_status(session, vault: Vault, pseudonymizer: Pseudonymizer, metadata) -> dict:
    """The configured keys and, per column, which of them the stored values need."""
    vault_ids = vault.key_ids
    return {
        "vault": {"current": vault.current_key_id, "configured": vault_ids,
                  "in_use": VaultRotation(session, vault, metadata).usage(vault_ids)},
        "pseudonym": {"current": pseudonymizer.current_version,
                      "configured": pseudonymizer.versions,
                      "in_use": pseudonym_usage(session)},
    }
