"""The default fingerprint: a per-product HMAC of the machine id, never the id itself."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tessera_client import (
    FingerprintUnavailable,
    default_fingerprint,
    derive_fingerprint,
    read_machine_id,
)
from tessera_client.fingerprint import parse_ioreg_output, validate_fingerprint

MACHINE_A = "0f8e7d6c5b4a39281706f5e4d3c2b1a0"
MACHINE_B = "1a2b3c4d5e6f708192a3b4c5d6e7f801"


def test_fingerprint_is_the_documented_hmac():
    expected = hmac.new(
        b"tessera-device-fingerprint:numflo", MACHINE_A.encode(), hashlib.sha256
    ).hexdigest()
    assert derive_fingerprint(MACHINE_A, "numflo") == expected


def test_fingerprint_is_stable_and_separates_machines_and_products():
    first = derive_fingerprint(MACHINE_A, "numflo")

    assert derive_fingerprint(MACHINE_A + "\n", "numflo") == first  # a file's trailing newline
    assert derive_fingerprint(MACHINE_B, "numflo") != first
    assert derive_fingerprint(MACHINE_A, "meshpro") != first
    assert len(first) == 64 and int(first, 16) >= 0


def test_raw_machine_id_is_not_in_the_fingerprint():
    fingerprint = derive_fingerprint(MACHINE_A, "numflo")
    assert MACHINE_A not in fingerprint
    assert (
        hashlib.sha256(MACHINE_A.encode()).hexdigest() != fingerprint
    )  # not a plain, guessable hash


def test_linux_reads_etc_machine_id_then_the_dbus_copy(tmp_path):
    etc, dbus = tmp_path / "machine-id", tmp_path / "dbus-machine-id"
    dbus.write_text(MACHINE_B + "\n")

    assert read_machine_id("linux", linux_files=[str(etc), str(dbus)]) == MACHINE_B
    etc.write_text(MACHINE_A + "\n")
    assert read_machine_id("linux", linux_files=[str(etc), str(dbus)]) == MACHINE_A


def test_no_machine_id_asks_for_an_explicit_fingerprint(tmp_path):
    empty = tmp_path / "machine-id"
    empty.write_text("\n")
    with pytest.raises(FingerprintUnavailable):
        read_machine_id("linux", linux_files=[str(empty), str(tmp_path / "missing")])
    with pytest.raises(FingerprintUnavailable):
        read_machine_id("plan9")


def test_default_fingerprint_uses_the_reader():
    assert default_fingerprint("numflo", lambda: MACHINE_A) == derive_fingerprint(
        MACHINE_A, "numflo"
    )


def test_macos_uuid_is_read_from_ioreg_output():
    output = """+-o J314sAP  <class IOPlatformExpertDevice, id 0x100000220>
    {
      "IOPlatformSerialNumber" = "C02ABCDEFG"
      "IOPlatformUUID" = "8A3C1E0B-5D2F-4E67-9B1A-0C2D3E4F5A6B"
    }"""
    assert parse_ioreg_output(output) == "8A3C1E0B-5D2F-4E67-9B1A-0C2D3E4F5A6B"
    with pytest.raises(FingerprintUnavailable):
        parse_ioreg_output('"IOPlatformSerialNumber" = "C02ABCDEFG"')


@pytest.mark.parametrize(
    "value", ["short", "x" * 513, "tab\tinside-the-fingerprint", 12345678901234567]
)
def test_explicit_fingerprints_outside_the_contract_are_refused(value):
    with pytest.raises(ValueError):
        validate_fingerprint(value)


@pytest.mark.parametrize("value", ["x" * 16, "y" * 512, "customer-supplied-device-id-01"])
def test_explicit_fingerprints_within_the_contract_are_kept(value):
    assert validate_fingerprint(value) == value
