"""Device components: the parts a device is made of, hashed before they leave it.

Sent beside the fingerprint at activation, they let a device keep its seat
when its fingerprint changes (a new disk, a reinstalled system) under the
product's ``fingerprint_match`` policy. Each is read where the platform gives
it without special rights, and what is sent is
HMAC-SHA256(key="tessera-device-component:" + product + ":" + name, msg=value):
stable, different per product and per component, and not the serial number.
A part that cannot be read is left out; none is required.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import FingerprintUnavailable
from .fingerprint import IOREG, read_machine_id

COMPONENT_KEY_PREFIX = "tessera-device-component:"
SYSFS = Path("/sys")
# Block devices that are not disks of their own.
_VIRTUAL_DISKS = ("loop", "ram", "zram", "dm-", "md", "sr", "fd")
_IOREG_SERIAL = re.compile(r'"IOPlatformSerialNumber"\s*=\s*"([^"]{1,128})"')


def derive_component(name: str, value: str, product: str) -> str:
    """The hex HMAC-SHA256 of one component's value for one product."""
    key = f"{COMPONENT_KEY_PREFIX}{product}:{name}".encode("utf-8")
    return hmac.new(key, value.strip().encode("utf-8"), hashlib.sha256).hexdigest()


def hash_components(raw: Mapping[str, str], product: str) -> dict[str, str]:
    """Hash every non-empty raw component for PRODUCT."""
    return {name: derive_component(name, value, product)
            for name, value in raw.items() if value and value.strip()}


def default_components(product: str, system: str | None = None) -> dict[str, str]:
    """This device's components for PRODUCT, hashed; only those the platform gives."""
    return hash_components(read_components(system), product)


def read_components(system: str | None = None, sysfs: Path = SYSFS) -> dict[str, str]:
    """The raw components of this device (never sent as such)."""
    system = system or sys.platform
    readers: dict[str, Callable[[], str | None]] = {
        "machine_id": lambda: _quietly(lambda: read_machine_id(system)),
        "mac": primary_mac,
    }
    if system.startswith("linux"):
        readers.update(disk=lambda: linux_disk_serial(sysfs),
                       cpu=lambda: linux_cpu(Path("/proc/cpuinfo")),
                       board=lambda: _read(sysfs / "class/dmi/id/board_serial"))
    elif system == "darwin":
        readers.update(board=macos_serial)
    found = {}
    for name, reader in readers.items():
        value = _quietly(reader)
        if value:
            found[name] = value
    return found


def primary_mac() -> str | None:
    """The hardware address of a network interface, when the system reports a real one."""
    node = uuid.getnode()
    # A random stand-in has the multicast bit set (RFC 4122, 4.5): not a real address.
    return None if node >> 40 & 1 else f"{node:012x}"


def linux_disk_serial(sysfs: Path = SYSFS) -> str | None:
    """The serial (or WWID) of the first physical disk, by name."""
    block = sysfs / "block"
    if not block.is_dir():
        return None
    for disk in sorted(block.iterdir()):
        if disk.name.startswith(_VIRTUAL_DISKS):
            continue
        for attribute in ("device/serial", "device/wwid", "serial"):
            value = _read(disk / attribute)
            if value:
                return value
    return None


def linux_cpu(cpuinfo: Path) -> str | None:
    """Vendor, model name, family, model and stepping of the first CPU."""
    text = _read(cpuinfo)
    if not text:
        return None
    first = text.split("\n\n", 1)[0]
    fields = {key.strip(): value for key, value in
              (line.split(":", 1) for line in first.splitlines() if ":" in line)}
    wanted = ("vendor_id", "model name", "cpu family", "model", "stepping")
    parts = [fields[k].strip() for k in wanted if k in fields]
    return "|".join(parts) or None


def macos_serial() -> str | None:
    """The Mac's serial number from the I/O Registry."""
    result = subprocess.run([IOREG, "-rd1", "-c", "IOPlatformExpertDevice"],
                            capture_output=True, text=True, timeout=10, check=True)
    match = _IOREG_SERIAL.search(result.stdout)
    return match.group(1) if match else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip() or None
    except OSError:
        return None


def _quietly(reader: Callable[[], str | None]) -> str | None:
    # A part that cannot be read is simply not sent: components are a convenience.
    try:
        return reader()
    except (OSError, subprocess.SubprocessError, FingerprintUnavailable, ValueError):
        return None
