"""Bulk seeding: accounts, licenses and seats straight into the tables.

Going through the API would take hours for a million seats, so rows are made
here with the service's own formats (ids, HMAC pseudonyms, vault ciphertext)
and written with COPY on PostgreSQL and executemany on SQLite. A subset of
seats ("hot" seats) gets a real device key kept in memory, so the load
generator can sign valid DPoP proofs for them.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import ENTITLEMENTS, PRODUCT, SEATS_PER_LICENSE, b64, new_id
from licensing.dpop import jwk_thumbprint

CHUNK = 20_000
_RAW = serialization.Encoding.Raw


@dataclass
class Device:
    """A hot seat's device: its activation id and its key."""

    seat_id: str
    key: Ed25519PrivateKey
    x: str


@dataclass
class Seeded:
    """What the load phases need to know about the seeded data."""

    seats: int
    devices: list[Device]
    wave_licenses: list[str]
    password_users: list[str]
    product_id: int
    seconds: float = 0.0
    counts: dict = field(default_factory=dict)


class Writer:
    """Append rows to a table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, connection, dialect: str):
        self._connection = connection
        self._dialect = dialect

    def rows(self, table: str, columns: list[str], rows) -> int:
        """Write ROWS (tuples in COLUMNS order, values already in the stored format)."""
        count, batch = 0, []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                count += self._flush(table, columns, batch)
                batch = []
        return count + (self._flush(table, columns, batch) if batch else 0)

    def _flush(self, table: str, columns: list[str], batch: list[tuple]) -> int:
        if self._dialect == "postgresql":
            text = io.StringIO()
            for row in batch:
                text.write("\t".join(r"\N" if v is None else str(v) for v in row) + "\n")
            with self._connection.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    copy.write(text.getvalue())
        else:
            marks = ", ".join("?" * len(columns))
            self._connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)
        return len(batch)


class Formats:
    """Values in the form each database stores them (what SQLAlchemy would write)."""

    def __init__(self, dialect: str):
        self.dialect = dialect

    def time(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        value = value.astimezone(timezone.utc)
        if self.dialect == "postgresql":
            return value.isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

    def boolean(self, value: bool):
        if self.dialect == "postgresql":
            return "t" if value else "f"
        return 1 if value else 0


class Seeder:
    """Make the rows of one benchmark database."""

    def __init__(self, connection, dialect: str, pseudonym_key: bytes, vault, password_hash: str):
        self._writer = Writer(connection, dialect)
        self._connection = connection
        self._format = Formats(dialect)
        self._pseudonym_key = pseudonym_key
        self._vault = vault
        self._password_hash = password_hash
        self.now = datetime.now(timezone.utc)

    def pseudonym(self, domain: str, value: str) -> str:
        """privacy.pseudonym's HMAC under key version 1."""
        return hmac.new(self._pseudonym_key, f"{domain}:{value}".encode(), hashlib.sha256).hexdigest()

    def accounts(self, usernames: list[str]) -> list[str]:
        ids = [new_id("acc") for _ in usernames]
        created = self._format.time(self.now - timedelta(days=30))
        self._writer.rows(
            "accounts", ["id", "username", "password_hash", "country", "created_at"],
            ((i, name, self._password_hash, "BE", created) for i, name in zip(ids, usernames)))
        return ids

    def licenses(self, account_ids: list[str], product_id: int, seats: int) -> list[str]:
        ids = [new_id("lic") for _ in account_ids]
        f = self._format
        starts, ends = f.time(self.now - timedelta(days=30)), f.time(self.now + timedelta(days=335))
        entitlements = json.dumps(ENTITLEMENTS)
        self._writer.rows(
            "licenses",
            ["id", "account_id", "product_id", "kind", "status", "seats", "starts_at",
             "expires_at", "grace_seconds", "lease_seconds", "offline_lease_seconds",
             "entitlements", "created_at"],
            ((i, a, product_id, "subscription", "active", seats, starts, ends, 14 * 86400,
              7 * 86400, 90 * 86400, entitlements, starts) for i, a in zip(ids, account_ids)))
        return ids

    def seats(self, license_ids: list[str], total: int, hot: set[int]) -> list[Device]:
        """TOTAL active seats over LICENSE_IDS; the seats numbered in HOT get real keys."""
        devices: list[Device] = []
        self._writer.rows("seats", [
            "id", "license_id", "device_pseudonym", "device_key_version", "device_jkt",
            "device_public_key", "device_name", "platform", "offline", "activated_at",
            "last_refresh_at"], self._seat_rows(license_ids, total, hot, devices))
        return devices

    def _seat_rows(self, license_ids, total, hot, devices):
        f = self._format
        activated, offline = f.time(self.now - timedelta(days=10)), f.boolean(False)
        for n in range(total):
            seat_id = new_id("act")
            pseudonym = self.pseudonym("device", f"bench-fp-{secrets.token_hex(12)}")
            name = None
            if n in hot:
                key = Ed25519PrivateKey.generate()
                x = b64(key.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw))
                devices.append(Device(seat_id, key, x))
                # Real activations carry a device name: the refresh path decrypts it.
                name = self._vault.encrypt(f"workstation-{n}", "seats.device_name")
            else:
                x = b64(secrets.token_bytes(32))
            yield (seat_id, license_ids[n // SEATS_PER_LICENSE], pseudonym, 1, jwk_thumbprint(x),
                   x, name, "linux", offline, activated, activated)


def seed(connection, dialect: str, *, product_id: int, seats: int, hot: int, wave: int,
         pseudonym_key: bytes, vault, password_hash: str) -> Seeded:
    """Fill the tables: SEATS seats (10 per license, HOT with keys), WAVE open licenses."""
    started = time.perf_counter()
    seeder = Seeder(connection, dialect, pseudonym_key, vault, password_hash)
    licenses_needed = -(-seats // SEATS_PER_LICENSE)
    fleet = seeder.accounts([f"bench-{n:07d}" for n in range(licenses_needed)])
    license_ids = seeder.licenses(fleet, product_id, SEATS_PER_LICENSE)
    # Open licenses with room for the activation waves (codes and passwords).
    users = [f"bench-wave-{n:05d}" for n in range(wave)]
    wave_licenses = seeder.licenses(seeder.accounts(users), product_id, 100_000)
    hot_numbers = set(random.Random(7).sample(range(seats), min(hot, seats)))
    devices = seeder.seats(license_ids, seats, hot_numbers)
    random.Random(11).shuffle(devices)
    return Seeded(seats=seats, devices=devices, wave_licenses=wave_licenses,
                  password_users=users, product_id=product_id,
                  seconds=time.perf_counter() - started,
                  counts={"accounts": licenses_needed + wave, "licenses": licenses_needed + wave,
                          "seats": seats, "hot_seats": len(devices)})


def add_codes(connection, dialect: str, seeder_key: bytes, license_ids: list[str],
              count: int) -> list[str]:
    """COUNT fresh activation codes spread over LICENSE_IDS; the plain codes are returned."""
    from licensing.codes import generate_code

    seeder = Seeder(connection, dialect, seeder_key, None, "")
    codes = [generate_code() for _ in range(count)]
    expires, created = seeder._format.time(seeder.now + timedelta(days=30)), seeder._format.time(
        seeder.now)
    Writer(connection, dialect).rows(
        "activation_codes", ["license_id", "code_hmac", "key_version", "expires_at",
                             "created_at"],
        ((license_ids[n % len(license_ids)],
          seeder.pseudonym("activation-code", code.replace("-", "")), 1, expires, created)
         for n, code in enumerate(codes)))
    return codes
