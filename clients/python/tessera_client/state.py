"""The local licence state: one JSON file beside the device key."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import LocalStateError

STATE_FILE_NAME = "state.json"
STATE_VERSION = 1


@dataclass
class LicenseState:
    """What the device remembers between runs."""

    product: str
    server_url: str | None = None
    fingerprint: str | None = None
    activation_id: str | None = None
    lease: str | None = None
    license: dict[str, Any] | None = None
    jwks: dict[str, Any] | None = None
    issuer: str | None = None
    last_seen: int | None = None
    offline: bool = False
    # Set when the service refused a refresh for good (e.g. LICENSE_REVOKED).
    refused: dict[str, Any] | None = None
    version: int = field(default=STATE_VERSION)

    def forget_activation(self) -> None:
        """Drop the activation and its lease, keeping keys, pins and clock memory."""
        self.activation_id = None
        self.lease = None
        self.license = None
        self.refused = None
        self.offline = False

    def to_json(self) -> dict[str, Any]:
        """Return the state as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> LicenseState:
        """Build a state from its JSON form, ignoring fields written by newer clients."""
        if not isinstance(data, dict) or not isinstance(data.get("product"), str):
            raise LocalStateError("state file is not a Tessera licence state")
        if data.get("version", STATE_VERSION) != STATE_VERSION:
            raise LocalStateError(f"state file version {data.get('version')!r} not supported")
        known = {item.name for item in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in known})


class StateStore:
    """Reads and atomically replaces the state file."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / STATE_FILE_NAME

    def load(self) -> LicenseState | None:
        """Return the saved state, or None when there is none."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LocalStateError(f"cannot read {self.path}: {exc.strerror}") from exc
        try:
            return LicenseState.from_json(json.loads(text))
        except (ValueError, TypeError) as exc:
            raise LocalStateError(f"state file {self.path} is damaged") from exc

    def save(self, state: LicenseState) -> None:
        """Write the state to a 0600 temporary file, then rename it into place."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file 0600; the rename makes a crash leave either
        # the old state or the new one, never half of one.
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".state-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state.to_json(), handle, sort_keys=True, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_directory(self.directory)


def _sync_directory(directory: Path) -> None:
    """Flush the rename to disk where the platform allows it."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
