"""The device key: made once, kept owner-only, identified by its RFC 7638 thumbprint."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_client import (
    DeviceKey,
    FileKeyStore,
    KeyFileInsecure,
    KeyStore,
    MemoryKeyStore,
    jwk_thumbprint,
    load_or_create_device_key,
)
from tessera_client.errors import LocalStateError

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def test_rfc_8037_thumbprint_vector():
    # RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_thumbprint_ignores_members_outside_the_rfc_7638_set(kit):
    key = DeviceKey.generate()
    decorated = {**key.public_jwk, "kid": "x", "use": "sig", "alg": "EdDSA"}
    assert jwk_thumbprint(decorated) == key.thumbprint == kit.thumbprint_of(key.public_jwk["x"])


def test_public_jwk_has_only_public_members():
    key = DeviceKey.generate()
    assert set(key.public_jwk) == {"kty", "crv", "x"}
    assert key.public_jwk["kty"] == "OKP" and key.public_jwk["crv"] == "Ed25519"


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-256", "x": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "too-short"},
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "d": "secret",
        },
    ],
)
def test_thumbprint_of_unusable_keys_is_refused(jwk):
    with pytest.raises(ValueError):
        jwk_thumbprint(jwk)


@posix_only
def test_file_store_creates_the_key_once_with_mode_0600(tmp_path):
    store = FileKeyStore(tmp_path / "state" / "device-key.pem")

    first = load_or_create_device_key(store)
    second = load_or_create_device_key(FileKeyStore(tmp_path / "state" / "device-key.pem"))

    assert first.thumbprint == second.thumbprint
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.path.parent).st_mode) == 0o700
    assert store.path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8


@posix_only
def test_file_store_mode_ignores_a_permissive_umask(tmp_path):
    previous = os.umask(0)
    try:
        FileKeyStore(tmp_path / "k.pem").save(DeviceKey.generate().to_pem())
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_group_or_world_readable_key_is_refused(tmp_path, mode):
    store = FileKeyStore(tmp_path / "k.pem")
    store.save(DeviceKey.generate().to_pem())
    os.chmod(store.path, mode)

    with pytest.raises(KeyFileInsecure):
        store.load()


@posix_only
def test_key_file_behind_a_symlink_is_refused(tmp_path):
    real = FileKeyStore(tmp_path / "real.pem")
    real.save(DeviceKey.generate().to_pem())
    (tmp_path / "link.pem").symlink_to(tmp_path / "real.pem")

    with pytest.raises(LocalStateError):
        FileKeyStore(tmp_path / "link.pem").load()


def test_save_never_overwrites_an_existing_key(tmp_path):
    store = FileKeyStore(tmp_path / "k.pem")
    original = DeviceKey.generate().to_pem()
    store.save(original)

    with pytest.raises(FileExistsError):
        store.save(DeviceKey.generate().to_pem())
    assert store.path.read_bytes() == original


def test_losing_the_creation_race_uses_the_winners_key(tmp_path):
    winner = DeviceKey.generate()

    class RacingStore(KeyStore):
        """Empty on the first look; someone else saves before we do."""

        def __init__(self):
            self.inner = MemoryKeyStore()
            self.loads = 0

        def load(self):
            self.loads += 1
            return None if self.loads == 1 else self.inner.load()

        def save(self, pem):
            self.inner.save(winner.to_pem())
            self.inner.save(pem)  # raises FileExistsError like O_EXCL would

    assert load_or_create_device_key(RacingStore()).thumbprint == winner.thumbprint


def test_caller_supplied_store_is_used(tmp_path):
    store = MemoryKeyStore()
    key = load_or_create_device_key(store)

    assert store.load() == key.to_pem()
    assert load_or_create_device_key(store).thumbprint == key.thumbprint
    assert not list(tmp_path.iterdir())


def test_a_non_ed25519_or_damaged_key_is_refused():
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    with pytest.raises(LocalStateError):
        DeviceKey.from_pem(other)
    with pytest.raises(LocalStateError):
        DeviceKey.from_pem(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")


def test_pem_round_trip_keeps_the_key():
    key = DeviceKey.generate()
    again = DeviceKey.from_pem(key.to_pem())
    assert isinstance(again.private_key, Ed25519PrivateKey)
    assert again.thumbprint == key.thumbprint
