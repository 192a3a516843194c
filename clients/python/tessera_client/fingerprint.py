"""The default device fingerprint: a keyed hash of the machine id.

The raw machine id never leaves the machine. What is sent is
HMAC-SHA256(key="tessera-device-fingerprint:" + product, msg=machine id):
stable across reboots, different on every machine, different for every
product (so two vendors' products cannot join their records on it), and not
reversible to the machine id without the id itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import FingerprintUnavailable

FINGERPRINT_KEY_PREFIX = "tessera-device-fingerprint:"
MIN_FINGERPRINT = 16
MAX_FINGERPRINT = 512
LINUX_MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
# Absolute path: a PATH planted with a fake ioreg must not choose our identity.
IOREG = "/usr/sbin/ioreg"
_IOREG_UUID = re.compile(r'"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]{16,64})"')


def derive_fingerprint(machine_id: str, product: str) -> str:
    """Return the hex HMAC-SHA256 fingerprint of a machine id for one product."""
    if not machine_id.strip():
        raise FingerprintUnavailable("machine id is empty")
    key = (FINGERPRINT_KEY_PREFIX + product).encode("utf-8")
    return hmac.new(key, machine_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()


def validate_fingerprint(fingerprint: str) -> str:
    """Return a caller-supplied fingerprint if the service will accept it."""
    if not isinstance(fingerprint, str):
        raise ValueError("fingerprint must be a string")
    if not MIN_FINGERPRINT <= len(fingerprint) <= MAX_FINGERPRINT:
        raise ValueError(f"fingerprint must be {MIN_FINGERPRINT}..{MAX_FINGERPRINT} characters")
    if not fingerprint.isprintable():
        raise ValueError("fingerprint must be printable text")
    return fingerprint


def read_machine_id(
    system: str | None = None, *, linux_files: Sequence[str] = LINUX_MACHINE_ID_FILES
) -> str:
    """Read this machine's id the way the operating system exposes it."""
    system = system or sys.platform
    if system.startswith("linux"):
        return _read_linux(linux_files)
    if system == "darwin":
        return _read_macos()
    if system in ("win32", "cygwin"):
        return _read_windows()
    raise FingerprintUnavailable(f"no machine id source on {system}; pass a fingerprint")


def default_fingerprint(
    product: str, machine_id_reader: Callable[[], str] = read_machine_id
) -> str:
    """Return the fingerprint this device presents for a product."""
    return derive_fingerprint(machine_id_reader(), product)


def parse_ioreg_output(output: str) -> str:
    """Pick IOPlatformUUID out of ``ioreg -rd1 -c IOPlatformExpertDevice`` output."""
    match = _IOREG_UUID.search(output)
    if not match:
        raise FingerprintUnavailable("IOPlatformUUID not found in ioreg output")
    return match.group(1)


def _read_linux(paths: Sequence[str]) -> str:
    """Read the systemd/D-Bus machine id."""
    for path in paths:
        try:
            value = Path(path).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if value:
            return value
    raise FingerprintUnavailable("no machine id in " + ", ".join(paths) + "; pass a fingerprint")


def _read_macos() -> str:
    """Read the hardware UUID from the I/O Registry."""
    try:
        result = subprocess.run(
            [IOREG, "-rd1", "-c", "IOPlatformExpertDevice"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise FingerprintUnavailable("cannot run ioreg; pass a fingerprint") from exc
    return parse_ioreg_output(result.stdout)


def _read_windows() -> str:  # pragma: no cover - needs Windows
    """Read MachineGuid from the registry (64-bit view, even from 32-bit Python)."""
    import winreg

    try:
        with winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE,
            r"SOFTWARE\Microsoft\Cryptography",
            0,
            winreg.KEY_READ | winreg.KEY_WOW64_64KEY,
        ) as key:
            value, _ = winreg.QueryValueEx(key, "MachineGuid")
    except OSError as exc:
        raise FingerprintUnavailable("cannot read MachineGuid; pass a fingerprint") from exc
    return str(value)
