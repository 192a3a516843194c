"""The device key: an Ed25519 key pair made once on the device and kept."""

from __future__ import annotations

import abc
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from .errors import KeyFileInsecure, LocalStateError
from .jwk import jwk_thumbprint, public_jwk

KEY_FILE_NAME = "device-key.pem"


class DeviceKey:
    """An Ed25519 device key with its public JWK and RFC 7638 thumbprint."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        self.public_jwk = public_jwk(private_key.public_key())
        self.thumbprint = jwk_thumbprint(self.public_jwk)

    @classmethod
    def generate(cls) -> DeviceKey:
        """Make a new random device key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> DeviceKey:
        """Load a device key from unencrypted PKCS8 PEM."""
        try:
            key = load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise LocalStateError("device key is not an unencrypted PKCS8 PEM key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise LocalStateError("device key is not an Ed25519 key")
        return cls(key)

    def to_pem(self) -> bytes:
        """Serialise the private key as unencrypted PKCS8 PEM."""
        return self.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


class KeyStore(abc.ABC):
    """Where the device key lives: a file, an OS keychain, a TPM wrapper..."""

    @abc.abstractmethod
    def load(self) -> bytes | None:
        """Return the stored PKCS8 PEM, or None when no key was saved yet."""

    @abc.abstractmethod
    def save(self, pem: bytes) -> None:
        """Store a new key; raise FileExistsError if one is already stored."""


class MemoryKeyStore(KeyStore):
    """A key store held in memory, for embedding and tests."""

    def __init__(self, pem: bytes | None = None) -> None:
        self._pem = pem

    def load(self) -> bytes | None:
        """Return the key held in memory."""
        return self._pem

    def save(self, pem: bytes) -> None:
        """Hold the key, refusing to replace one."""
        if self._pem is not None:
            raise FileExistsError("a device key is already stored")
        self._pem = pem


class FileKeyStore(KeyStore):
    """A PEM file readable by its owner only."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> bytes | None:
        """Read the key file, refusing one that others may read."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LocalStateError(
                f"cannot open device key file {self.path}: {exc.strerror}"
            ) from exc
        with os.fdopen(fd, "rb") as handle:
            self._check_private(os.fstat(handle.fileno()))
            return handle.read()

    def save(self, pem: bytes) -> None:
        """Create the key file exclusively with mode 0600."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not both write a key;
        # the mode is given at creation so the key is never briefly readable.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise

    def _check_private(self, status: os.stat_result) -> None:
        """Refuse a key that is not a regular file or is group/world accessible."""
        if not stat.S_ISREG(status.st_mode):
            raise LocalStateError(f"device key {self.path} is not a regular file")
        # Windows has no POSIX mode bits; its ACLs come from the profile directory.
        if os.name == "posix" and status.st_mode & 0o077:
            raise KeyFileInsecure(
                f"device key {self.path} is readable by other users "
                f"(mode {stat.S_IMODE(status.st_mode):o}); run chmod 600 on it"
            )


def load_or_create_device_key(store: KeyStore) -> DeviceKey:
    """Return the stored device key, making and saving one the first time."""
    pem = store.load()
    if pem is not None:
        return DeviceKey.from_pem(pem)
    key = DeviceKey.generate()
    try:
        store.save(key.to_pem())
    except FileExistsError:
        # Another process won the race; everyone must use its key.
        pem = store.load()
        if pem is None:
            raise LocalStateError("device key vanished while being created") from None
        return DeviceKey.from_pem(pem)
    return key
