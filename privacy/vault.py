"""Field-level encryption for personal data that must be read back.

AES-256-GCM with a random 96-bit nonce; the key id travels inside the
ciphertext (``kid$base64``), so a keyring can hold several keys: the first
encrypts, every key decrypts, and ``rotate-vault`` re-encrypts old rows. The
column's label is bound in as associated data, so a ciphertext copied into
another column does not decrypt.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from core.database import keyset_batches
from core.encoding import b64url_decode, b64url_encode

EXTENSION = "tessera.vault"


class VaultError(Exception):
    """A ciphertext could not be decrypted with any configured key."""


class Vault:
    """Encrypt and decrypt short strings under a rotating keyring."""

    def __init__(self, keys: dict[str, bytes]):
        if not keys:
            raise ValueError("the vault needs at least one key")
        for key_id, key in keys.items():
            if "$" in key_id or len(key) != 32:
                raise ValueError(f"vault key {key_id!r} must be 32 bytes, id without '$'")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current_key_id = next(iter(keys))

    def encrypt(self, plaintext: str, label: str) -> str:
        """Encrypt PLAINTEXT for the column LABEL under the current key."""
        nonce = os.urandom(12)
        sealed = self._ciphers[self.current_key_id].encrypt(
            nonce, plaintext.encode("utf-8"), label.encode("utf-8"))
        return f"{self.current_key_id}${b64url_encode(nonce + sealed)}"

    def decrypt(self, ciphertext: str, label: str) -> str:
        """Decrypt a value made by :meth:`encrypt` under any configured key."""
        key_id, _, body = ciphertext.partition("$")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise VaultError(f"no vault key {key_id!r} is configured")
        raw = b64url_decode(body)
        try:
            return cipher.decrypt(raw[:12], raw[12:], label.encode("utf-8")).decode("utf-8")
        except InvalidTag as exc:
            raise VaultError("ciphertext failed authentication") from exc

    @property
    def key_ids(self) -> list[str]:
        """Every configured key id, the current one first."""
        return list(self._ciphers)

    def key_id_of(self, ciphertext: str) -> str:
        """Return the id of the key that sealed CIPHERTEXT."""
        return ciphertext.partition("$")[0]


def current_vault() -> Vault:
    """The vault of the running application."""
    return current_app.extensions[EXTENSION]


class EncryptedText(sa.types.TypeDecorator):
    """A text column stored encrypted; never filter or sort on it."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, label: str):
        super().__init__()
        self.label = label

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return current_vault().encrypt(value, self.label)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return current_vault().decrypt(value, self.label)


def encrypted_columns(metadata: sa.MetaData) -> dict[sa.Table, list[sa.Column]]:
    """Every table with vault-encrypted columns, and those columns."""
    found: dict[sa.Table, list[sa.Column]] = {}
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, EncryptedText)]
        if columns:
            found[table] = columns
    return found


class VaultRotation:
    """Re-encrypt every vault field sealed by an older key under the current one.

    Reads and writes the stored ciphertext directly (never through the column
    type), walks each table in primary-key order a batch at a time, and
    writes a row back only if it still holds what was read, so a concurrent
    update is never overwritten with stale data.
    """

    def __init__(self, session, vault: Vault, metadata: sa.MetaData):
        self._session = session
        self._vault = vault
        self._tables = encrypted_columns(metadata)

    @property
    def tables(self) -> list[sa.Table]:
        return list(self._tables)

    def _raw(self, column: sa.Column):
        return sa.type_coerce(column, sa.Text())

    def _stale(self, table: sa.Table):
        prefix = f"{self._vault.current_key_id}$"
        return sa.or_(*(sa.and_(column.isnot(None),
                                sa.not_(self._raw(column).startswith(prefix, autoescape=True)))
                        for column in self._tables[table]))

    def count(self, table: sa.Table) -> int:
        """Rows of TABLE holding at least one field under an older key."""
        return self._session.scalar(
            sa.select(sa.func.count()).select_from(table).where(self._stale(table)))

    def batches(self, table: sa.Table, batch_size: int = 500):
        """Re-encrypt TABLE a batch at a time, yielding rows done; commit after each yield."""
        key = next(iter(table.primary_key.columns))
        columns = self._tables[table]

        def reseal(after, limit: int) -> list:
            query = (sa.select(key, *(self._raw(c).label(c.name) for c in columns))
                     .where(self._stale(table), *([key > after] if after is not None else []))
                     .order_by(key).limit(limit))
            rows = self._session.execute(query).all()
            for row in rows:
                self._reseal(table, key, columns, row)
            return [row[0] for row in rows]
        return keyset_batches(reseal, batch_size)

    def _reseal(self, table, key, columns, row) -> None:
        for column in columns:
            sealed = getattr(row, column.name)
            if sealed is None or self._vault.key_id_of(sealed) == self._vault.current_key_id:
                continue
            label = column.type.label
            fresh = self._vault.encrypt(self._vault.decrypt(sealed, label), label)
            self._session.execute(
                sa.update(table).where(key == row[0], self._raw(column) == sealed)
                .values({column.name: sa.literal(fresh, sa.Text())}))

    def usage(self, known_key_ids: list[str]) -> dict[str, dict[str, int]]:
        """For each table.column: how many values each key sealed ("other": none configured)."""
        usage: dict[str, dict[str, int]] = {}
        for table, columns in self._tables.items():
            for column in columns:
                raw = self._raw(column)
                counts = {key_id: self._session.scalar(
                    sa.select(sa.func.count()).select_from(table)
                    .where(raw.startswith(f"{key_id}$", autoescape=True)))
                    for key_id in known_key_ids}
                total = self._session.scalar(
                    sa.select(sa.func.count()).select_from(table).where(column.isnot(None)))
                counts["other"] = total - sum(counts.values())
                usage[f"{table.name}.{column.name}"] = counts
        return usage
