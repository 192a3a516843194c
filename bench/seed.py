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

from bench.common import ENTITLEMENTS, SEATS_PER_LICENSE, b64, new_id
from licensing.accounts.models import fold_username
from licensing.activation.dpop import jwk_thumbprint

CHUNK = 20_000
GIVEN = ("Anna", "Bram", "Chloé", "Dirk", "Elif", "Femke", "Goran", "Hanna", "Ines", "Jules",
         "Karel", "Lotte", "Mehdi", "Nora", "Olaf", "Pieter", "Quinten", "Rosa", "Sven", "Tess")
FAMILY = ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
          "Wouters", "De Smet", "Dubois", "Lambert", "Martin", "Dupont", "Hermans", "Aerts")
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
    # Hot seats of floating licenses (licensing.activation.floating), for the same refresh.
    floating_devices: list[Device]
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
        holders = self._holders()
        self._writer.rows(
            "accounts", ["id", "username", "username_folded", "password_hash", "country",
                         "created_at", "name", "company"],
            ((i, name, fold_username(name), self._password_hash, "BE", created,
              *holders[n % len(holders)])
             for n, (i, name) in enumerate(zip(ids, usernames))))
        return ids

    def _holders(self) -> list[tuple[str, str]]:
        """Vault-encrypted names and companies (a pool keeps seeding cheap): what screening reads."""
        if not hasattr(self, "_holder_pool"):
            rng = random.Random(17)
            self._holder_pool = [
                (self._vault.encrypt(f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}", "accounts.name"),
                 self._vault.encrypt(f"{rng.choice(FAMILY)} Engineering {n}", "accounts.company"))
                for n in range(500)]
        return self._holder_pool

    def licenses(self, account_ids: list[str], product_id: int, seats: int,
                 seat_mode: str = "node_locked") -> list[str]:
        ids = [new_id("lic") for _ in account_ids]
        f = self._format
        starts, ends = f.time(self.now - timedelta(days=30)), f.time(self.now + timedelta(days=335))
        entitlements = json.dumps(ENTITLEMENTS)
        lease = 900 if seat_mode == "floating" else 7 * 86400
        self._writer.rows(
            "licenses",
            ["id", "account_id", "product_id", "kind", "status", "seats", "starts_at",
             "expires_at", "grace_seconds", "lease_seconds", "offline_lease_seconds",
             "entitlements", "created_at", "seat_mode"],
            ((i, a, product_id, "subscription", "active", seats, starts, ends, 14 * 86400,
              lease, 90 * 86400, entitlements, starts, seat_mode)
             for i, a in zip(ids, account_ids)))
        return ids

    def seats(self, license_ids: list[str], total: int, hot: set[int],
              held_until: datetime | None = None) -> list[Device]:
        """TOTAL active seats over LICENSE_IDS; the seats numbered in HOT get real keys."""
        devices: list[Device] = []
        self._writer.rows("seats", [
            "id", "license_id", "device_pseudonym", "device_key_version", "device_jkt",
            "device_public_key", "device_name", "platform", "offline", "activated_at",
            "last_refresh_at", "held_until"],
            self._seat_rows(license_ids, total, hot, devices, self._format.time(held_until)))
        return devices

    def _seat_rows(self, license_ids, total, hot, devices, held_until):
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
                   x, name, "linux", offline, activated, activated, held_until)


def seed_floating(seeder: Seeder, product_id: int, count: int) -> list[Device]:
    """COUNT hot floating seats, 10 per license, held well past the run (refresh extends it)."""
    licenses = -(-count // SEATS_PER_LICENSE)
    accounts = seeder.accounts([f"bench-float-{n:06d}" for n in range(licenses)])
    license_ids = seeder.licenses(accounts, product_id, SEATS_PER_LICENSE, "floating")
    devices = seeder.seats(license_ids, count, set(range(count)),
                           held_until=seeder.now + timedelta(hours=2))
    random.Random(13).shuffle(devices)
    return devices


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
    floating = seed_floating(seeder, product_id, min(hot, seats))
    return Seeded(seats=seats, devices=devices, floating_devices=floating,
                  wave_licenses=wave_licenses,
                  password_users=users, product_id=product_id,
                  seconds=time.perf_counter() - started,
                  counts={"accounts": licenses_needed + wave, "licenses": licenses_needed + wave,
                          "seats": seats, "hot_seats": len(devices),
                          "floating_seats": len(floating)})


def add_codes(connection, dialect: str, seeder_key: bytes, license_ids: list[str],
              count: int) -> list[str]:
    """COUNT fresh activation codes spread over LICENSE_IDS; the plain codes are returned."""
    from licensing.catalog.codes import generate_code

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


# What `flask privacy purge` meets in a database that has run for years, in rows per
# category at scale 1: 1,000,000 rows for the purge to act on (each by exactly one
# rule, so the purge's total is their sum) and about as many it must leave alone.
# Ages are in days before seeding; each band keeps at least two days from the
# retention cut-offs (30 days for IP prefixes, 90 for device data, 730 for seat rows,
# 365 for the access log and disabled staff), so the purge's clock may run later.
PURGE_MIX = {
    # Acted on.
    "seat_history": 250_000,      # released 760-1400 days ago, already de-identified: deleted
    "seat_released": 200_000,     # released 95-700 days ago with device data: de-identified
    "seat_ip_live": 100_000,      # live seat, IP prefix 32-85 days old: prefix cleared
    "seat_ip_released": 50_000,   # released 40-85 days ago, prefix older still: cleared
    "proof_expired": 250_000,     # replay-cache entries expired 1 minute to 2 days ago
    "code_expired": 100_000,      # codes expired 1-365 days ago (a fifth redeemed by a live seat)
    "log_expired": 49_990,        # access-log entries 370-700 days old
    "staff_disabled": 10,         # staff disabled 370-700 days ago
    # Left alone.
    "seat_live": 500_000,         # live seat, IP prefix 0-25 days old
    "seat_recent": 100_000,       # released 1-20 days ago, device data and prefix kept
    "seat_husk": 100_000,         # released 95-700 days ago, de-identified earlier
    "proof_live": 100_000,        # expire in 2 hours to 1 day
    "code_live": 100_000,         # expire in 1-30 days (a tenth redeemed by a live seat)
    "log_recent": 49_990,         # access-log entries 1-360 days old
    "staff_kept": 10,             # active, or disabled 1-300 days ago
}
# The rule of each acted-on category, as `flask privacy purge --json` names it.
PURGE_RULES = {
    "seats.history": ("seat_history",),
    "seats.released": ("seat_released",),
    "seats.ip_prefix": ("seat_ip_live", "seat_ip_released"),
    "spent_proofs.expired": ("proof_expired",),
    "activation_codes.expired": ("code_expired",),
    "access_log.expired": ("log_expired",),
    "staff.disabled": ("staff_disabled",),
}
PURGE_SEAT_KINDS = ("seat_history", "seat_released", "seat_ip_live", "seat_ip_released",
                    "seat_live", "seat_recent", "seat_husk")


@dataclass
class Purgeable:
    """What seed_purgeable wrote: rows per PURGE_MIX category, and when."""

    counts: dict
    now: datetime
    seconds: float = 0.0

    def expected(self) -> dict:
        """Rows each retention rule should act on."""
        return {rule: sum(self.counts[k] for k in kinds) for rule, kinds in PURGE_RULES.items()}


def purge_counts(scale: float) -> dict:
    """PURGE_MIX at SCALE (0.1: 100,000 rows to act on), at least one row per category."""
    return {kind: max(1, round(rows * scale)) for kind, rows in PURGE_MIX.items()}


class _PurgeRows:
    """Rows of the PURGE_MIX categories, in the stored formats, mixed in random order."""

    def __init__(self, seeder: Seeder, rng: random.Random):
        self._seeder = seeder
        self._format = seeder._format
        self._rng = rng
        # Real seats carry an encrypted device name; a pool keeps seeding cheap.
        self._names = [seeder._vault.encrypt(f"workstation-{n}", "seats.device_name")
                       for n in range(256)]
        self.live_seats: list[str] = []  # a sample, for the seat_id of redeemed codes

    def ago(self, low: float, high: float) -> datetime:
        return self._seeder.now - timedelta(days=self._rng.uniform(low, high))

    def _mixed(self, counts: dict, kinds) -> list[str]:
        order = [kind for kind in kinds for _ in range(counts[kind])]
        self._rng.shuffle(order)
        return order

    def seats(self, counts: dict, license_ids: list[str]):
        f, rng = self._format, self._rng
        for n, kind in enumerate(self._mixed(counts, PURGE_SEAT_KINDS)):
            released = prefix_at = None
            device = kind not in ("seat_history", "seat_husk")
            if kind == "seat_history":
                released = self.ago(760, 1400)
            elif kind in ("seat_released", "seat_husk"):
                released = self.ago(95, 700)
            elif kind == "seat_ip_live":
                prefix_at = self.ago(32, 85)
            elif kind == "seat_ip_released":
                released = self.ago(40, 85)
                prefix_at = released - timedelta(days=rng.uniform(0, 5))
            elif kind == "seat_live":
                prefix_at = self.ago(0, 25)
            else:  # seat_recent
                released = self.ago(1, 20)
                prefix_at = released - timedelta(days=rng.uniform(0, 5))
            last_seen = prefix_at or released
            activated = last_seen - timedelta(days=rng.uniform(1, 400))
            if device:
                x = b64(secrets.token_bytes(32))
                pseudonym = self._seeder.pseudonym("device", f"bench-fp-{secrets.token_hex(12)}")
                identity = (pseudonym, 1, jwk_thumbprint(x), x, rng.choice(self._names),
                            rng.choice(("linux", "windows", "macos")),
                            rng.choice(("BE", "DE", "FR")))
            else:
                identity = (None,) * 7
            prefix = f"81.{rng.randrange(256)}.{rng.randrange(256)}.0/24" if prefix_at else None
            seat_id = new_id("act")
            if kind == "seat_live" and len(self.live_seats) < 1000:
                self.live_seats.append(seat_id)
            yield (seat_id, license_ids[n // SEATS_PER_LICENSE], *identity,
                   f.boolean(False), f.time(activated), f.time(last_seen), f.time(released),
                   "deactivated" if released else None, prefix, f.time(prefix_at))

    def codes(self, counts: dict, license_ids: list[str]):
        f, rng, now = self._format, self._rng, self._seeder.now
        for n, kind in enumerate(self._mixed(counts, ("code_expired", "code_live"))):
            if kind == "code_expired":
                expires = self.ago(1, 365)
                redeemed = expires - timedelta(days=rng.uniform(1, 20)) if n % 5 == 0 else None
            else:
                expires = now + timedelta(days=rng.uniform(1, 30))
                redeemed = self.ago(0, 1) if n % 10 == 0 else None
            seat = rng.choice(self.live_seats) if redeemed and self.live_seats else None
            code = secrets.token_hex(10)
            yield (license_ids[n % len(license_ids)],
                   self._seeder.pseudonym("activation-code", code), 1, f.time(expires),
                   f.time(redeemed), seat, f.time(expires - timedelta(days=30)))

    def proofs(self, counts: dict):
        f, now = self._format, self._seeder.now
        for kind in self._mixed(counts, ("proof_expired", "proof_live")):
            expires = (self.ago(1 / 1440, 2) if kind == "proof_expired"
                       else now + timedelta(hours=self._rng.uniform(2, 24)))
            yield hashlib.sha256(secrets.token_bytes(16)).hexdigest(), f.time(expires)

    def access_log(self, counts: dict):
        f = self._format
        for kind in self._mixed(counts, ("log_expired", "log_recent")):
            occurred = self.ago(370, 700) if kind == "log_expired" else self.ago(1, 360)
            subject = self._seeder.pseudonym("subject", new_id("acc"))
            yield (f.time(occurred), f"staff:{self._rng.randrange(1, 40)}", "support", subject,
                   1, "support", "account.lookup", f"TICKET-{self._rng.randrange(100000)}")

    def staff(self, counts: dict):
        f = self._format
        for n, kind in enumerate(self._mixed(counts, ("staff_disabled", "staff_kept"))):
            if kind == "staff_disabled":
                disabled = self.ago(370, 700)
            else:
                disabled = self.ago(1, 300) if n % 2 else None
            created = (disabled or self._seeder.now) - timedelta(days=400)
            yield (f"Staff {n}", "support", f.time(created), f.time(disabled))


def seed_purgeable(connection, dialect: str, *, product_id: int, scale: float,
                   pseudonym_key: bytes, vault, password_hash: str,
                   rng: random.Random | None = None) -> Purgeable:
    """Fill the tables with purge_counts(SCALE) rows: expired and live, mixed."""
    started = time.perf_counter()
    counts = purge_counts(scale)
    seeder = Seeder(connection, dialect, pseudonym_key, vault, password_hash)
    rows = _PurgeRows(seeder, rng or random.Random(13))
    seats = sum(counts[kind] for kind in PURGE_SEAT_KINDS)
    holders = -(-seats // SEATS_PER_LICENSE)
    license_ids = seeder.licenses(
        seeder.accounts([f"purge-{n:07d}" for n in range(holders)]), product_id,
        SEATS_PER_LICENSE)
    writer = seeder._writer
    writer.rows("seats", ["id", "license_id", "device_pseudonym", "device_key_version",
                          "device_jkt", "device_public_key", "device_name", "platform", "country",
                          "offline", "activated_at", "last_refresh_at", "released_at",
                          "release_reason", "ip_prefix", "ip_prefix_at"],
                rows.seats(counts, license_ids))
    writer.rows("activation_codes", ["license_id", "code_hmac", "key_version", "expires_at",
                                     "redeemed_at", "seat_id", "created_at"],
                rows.codes(counts, license_ids))
    writer.rows("spent_proofs", ["jti_hash", "expires_at"], rows.proofs(counts))
    writer.rows("access_log", ["occurred_at", "actor", "actor_role", "subject_pseudonym",
                               "subject_key_version", "purpose", "action", "reason"],
                rows.access_log(counts))
    # Tokens live in staff_tokens (deleted with their staff member); none is needed here.
    writer.rows("staff", ["name", "role", "created_at", "disabled_at"], rows.staff(counts))
    return Purgeable(counts=counts, now=seeder.now, seconds=time.perf_counter() - started)
