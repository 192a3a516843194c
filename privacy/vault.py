"""Field-level encryption for personal data that must be read back.

AES-256-GCM with a random 96-bit nonce; the key id travels inside the
ciphertext (``kid$base64``), so a keyring can hold several keys: the first
encrypts, every key decrypts, and ``rotate-vault`` re-encrypts old rows. The
column's label is bound in as associated data, so a ciphertext copied into
another column does not decrypt.
"""

from __future__ import annotations

import base64
import os

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

EXTENSION = "tessera.vault"


class VaultError(Exception):
    """A ciphertext could not be decrypted with any configured key."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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
        return f"{self.current_key_id}${_b64encode(nonce + sealed)}"

    def decrypt(self, ciphertext: str, label: str) -> str:
        """Decrypt a value made by :meth:`encrypt` under any configured key."""
        key_id, _, body = ciphertext.partition("$")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise VaultError(f"no vault key {key_id!r} is configured")
        raw = _b64decode(body)
        try:
            return cipher.decrypt(raw[:12], raw[12:], label.encode("utf-8")).decode("utf-8")
        except InvalidTag as exc:
            raise VaultError("ciphertext failed authentication") from exc

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
