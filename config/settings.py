"""Build the application's settings from the environment.

Three profiles:

* ``embedded`` (the default): SQLite files and generated secrets under the
  instance folder, so a fresh checkout serves with no set-up.
* ``production``: every secret and database URL must come from the
  environment (or a file named by ``<NAME>_FILE``); missing ones stop start-up.
* ``testing``: like embedded, with cheap password hashing; the test suite
  passes its own database URLs.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Callable, TypeVar

from core.encoding import b64url_decode, b64url_encode


class ConfigurationError(RuntimeError):
    """The environment does not describe a service that may start."""


PROFILES = ("embedded", "production", "testing")
T = TypeVar("T")

# OWASP ASVS 4.0 (2.4.1 / 2.4.4): argon2id with at least 19 MiB, t=2, p=1.
# These defaults (RFC 9106 "low memory") are above that floor.
PASSWORD_HASH_PRODUCTION = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}
# Tests hash hundreds of passwords; the floor itself keeps them meaningful and fast.
PASSWORD_HASH_TESTING = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}

SECRET_NAMES = ("TESSERA_SECRET_KEY", "TESSERA_PSEUDONYM_KEYS", "TESSERA_VAULT_KEYS")


# Below this a secret can be guessed or brute-forced offline (Flask signs cookies with it).
MIN_SECRET_BYTES = 32
# Explicit overrides of production's refusals; each is logged loudly when used.
ALLOW_SQLITE = "TESSERA_ALLOW_SQLITE"
ALLOW_PROCESS_LOCAL_LIMITS = "TESSERA_ALLOW_PROCESS_LOCAL_LIMITS"

log = logging.getLogger("tessera.config")


def env(name: str, environ: dict, default: str | None = None) -> str | None:
    """Read NAME, or the contents of the file named by NAME_FILE."""
    if environ.get(name):
        return environ[name]
    path = environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return default


_STANDARD_TO_URLSAFE = str.maketrans("+/", "-_")


def parse_keyring(text: str, name: str) -> dict[str, bytes]:
    """Parse ``id:base64,id:base64``; the first entry is the current key."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id:
            raise ConfigurationError(f"{name}: each entry must be 'id:base64key'")
        try:
            # Keys made with `openssl rand -base64 32` use the standard alphabet.
            raw = b64url_decode(encoded.translate(_STANDARD_TO_URLSAFE), padding=True)
        except ValueError as exc:
            raise ConfigurationError(f"{name}: key {key_id!r} is not canonical base64url "
                                     "(or base64)") from exc
        if len(raw) < 32:
            raise ConfigurationError(f"{name}: key {key_id!r} is shorter than 32 bytes")
        keys[key_id] = raw
    if not keys:
        raise ConfigurationError(f"{name} holds no key")
    return keys


def start_or_exit(build: Callable[[], T]) -> T:
    """Run BUILD at start-up; a refused configuration is one line on stderr and exit 2.

    An operator reads the reason, not a traceback; status 2 tells a supervisor
    that retrying will not help.
    """
    try:
        return build()
    except ConfigurationError as exc:
        sys.stderr.write(f"tessera: refusing to start: {exc}\n")
        sys.stderr.flush()
        sys.exit(2)


def _new_key() -> str:
    return b64url_encode(secrets.token_bytes(32))


def generated_secrets(instance_dir: Path) -> dict[str, str]:
    """Load the embedded profile's secrets, creating them (mode 0600) on first start."""
    path = instance_dir / "secrets.json"
    # The folder holds the SQLite files and these keys: owner only.
    instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return json.loads(path.read_text(encoding="utf-8"))
    values = {
        "TESSERA_SECRET_KEY": secrets.token_urlsafe(48),
        "TESSERA_PSEUDONYM_KEYS": f"1:{_new_key()}",
        "TESSERA_VAULT_KEYS": f"v1:{_new_key()}",
    }
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(values, handle)
    return values


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def _flag(name: str, environ: dict) -> bool:
    return (env(name, environ) or "").strip().lower() in ("1", "true", "yes")


def _is_sqlite(url: str | None) -> bool:
    return bool(url) and url.startswith("sqlite")


def _rate_limit_storage(profile: str, environ: dict, instance_dir: Path) -> str:
    """Where attempts are counted: one store every worker shares, never each one's memory.

    Unset, the embedded default counts in a SQLite file of its own under the
    instance folder (a file every worker on the host shares, and not the
    default database, whose write lock a request may be holding); production
    has no default and must name Redis or a database.
    """
    uri = env("TESSERA_RATELIMIT_STORAGE_URI", environ, env("TESSERA_REDIS_URL", environ))
    if uri:
        return uri
    if profile != "production":
        return _sqlite_url(instance_dir / "ratelimit.sqlite3")
    if _flag(ALLOW_PROCESS_LOCAL_LIMITS, environ):
        return "memory://"
    raise ConfigurationError(
        "production needs shared rate-limit storage: set TESSERA_REDIS_URL or "
        f"TESSERA_RATELIMIT_STORAGE_URI (or {ALLOW_PROCESS_LOCAL_LIMITS}=1 to count per process)")


def check_production(config: dict, environ: dict) -> None:
    """Refuse settings that would run a production service unsafely; warn on overrides."""
    secret = config["SECRET_KEY"]
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise ConfigurationError(f"TESSERA_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes "
                                 "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    sqlite = [name for name, url in (
        ("TESSERA_DATABASE_URL", config["SQLALCHEMY_DATABASE_URI"]),
        ("TESSERA_COMPLIANCE_DATABASE_URL", config["SQLALCHEMY_BINDS"]["compliance"]),
        ("TESSERA_RATELIMIT_STORAGE_URI", config["TESSERA_RATELIMIT_STORAGE_URI"]))
        if _is_sqlite(url)]
    if sqlite and not _flag(ALLOW_SQLITE, environ):
        raise ConfigurationError(f"production refuses SQLite ({', '.join(sqlite)}): use "
                                 f"PostgreSQL, or set {ALLOW_SQLITE}=1 for a single host")
    if sqlite:
        log.warning("WARNING: production runs on SQLite (%s) because %s is set: one host "
                    "only, no shared state between instances", ", ".join(sqlite), ALLOW_SQLITE)
    if config["TESSERA_RATELIMIT_STORAGE_URI"].startswith("memory"):
        if not _flag(ALLOW_PROCESS_LOCAL_LIMITS, environ):
            raise ConfigurationError("TESSERA_RATELIMIT_STORAGE_URI=memory:// counts per process; "
                                     f"set {ALLOW_PROCESS_LOCAL_LIMITS}=1 to accept that")
        log.warning("WARNING: attempt limits are counted per process (%s is set): each worker "
                    "allows the full limit", ALLOW_PROCESS_LOCAL_LIMITS)
    if not env("TESSERA_TOMBSTONE_PATH", environ):
        raise ConfigurationError("production needs TESSERA_TOMBSTONE_PATH: erasure tombstones "
                                 "belong on shared, backed-up storage every instance writes to")


def load_config(environ: dict | None = None, overrides: dict | None = None) -> dict:
    """Return the Flask config mapping for the profile named by TESSERA_ENV."""
    # Read, never written: a mapping that records reads can be passed (tests do).
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    profile = overrides.get("TESSERA_ENV") or environ.get("TESSERA_ENV") or "embedded"
    if profile not in PROFILES:
        raise ConfigurationError(f"TESSERA_ENV must be one of {', '.join(PROFILES)}")
    instance_dir = Path(
        overrides.get("TESSERA_INSTANCE_DIR") or env("TESSERA_INSTANCE_DIR", environ, "instance")
    ).resolve()

    values = {name: env(name, environ) for name in SECRET_NAMES}
    database_url = env("TESSERA_DATABASE_URL", environ)
    compliance_url = env("TESSERA_COMPLIANCE_DATABASE_URL", environ)
    if profile == "production":
        required = dict(values, TESSERA_DATABASE_URL=database_url,
                        TESSERA_COMPLIANCE_DATABASE_URL=compliance_url)
        missing = sorted(name for name, value in required.items() if not value)
        if missing:
            raise ConfigurationError("production settings need these set: " + ", ".join(missing))
    elif not all(values.values()):
        generated = generated_secrets(instance_dir)
        values = {name: values[name] or generated[name] for name in SECRET_NAMES}
    database_url = database_url or _sqlite_url(instance_dir / "tessera.sqlite3")
    compliance_url = compliance_url or _sqlite_url(instance_dir / "compliance.sqlite3")

    config = {
        "TESSERA_ENV": profile,
        "TESSERA_INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": values["TESSERA_SECRET_KEY"],
        "TESSERA_PSEUDONYM_KEYS": parse_keyring(values["TESSERA_PSEUDONYM_KEYS"],
                                                "TESSERA_PSEUDONYM_KEYS"),
        "TESSERA_VAULT_KEYS": parse_keyring(values["TESSERA_VAULT_KEYS"], "TESSERA_VAULT_KEYS"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_BINDS": {"compliance": compliance_url},
        # Pooled connections are pinged only after sitting idle (licensing.wiring):
        # pool_pre_ping would add a round trip to every request. hide_parameters: a
        # database error message never carries the row's values.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        "TESSERA_POOL_PING_IDLE_SECONDS": float(env("TESSERA_POOL_PING_IDLE_SECONDS", environ,
                                                    "1")),
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "TESSERA_ISSUER": env("TESSERA_ISSUER", environ, "tessera"),
        "TESSERA_PUBLIC_URL": env("TESSERA_PUBLIC_URL", environ),
        "TESSERA_TRUSTED_PROXIES": int(env("TESSERA_TRUSTED_PROXIES", environ, "0")),
        "TESSERA_REDIS_URL": env("TESSERA_REDIS_URL", environ),
        "TESSERA_RATELIMIT_STORAGE_URI": _rate_limit_storage(profile, environ, instance_dir),
        "TESSERA_RATELIMIT_ADDRESS_ATTEMPTS": env("TESSERA_RATELIMIT_ADDRESS_ATTEMPTS", environ,
                                                  "60 per minute"),
        "TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS": env("TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS", environ,
                                                  "30 per minute"),
        "TESSERA_RATELIMIT_ACCOUNT_FAILURES": env("TESSERA_RATELIMIT_ACCOUNT_FAILURES", environ,
                                                  "100 per hour"),
        "TESSERA_RATELIMIT_CODE_FAILURES": env("TESSERA_RATELIMIT_CODE_FAILURES", environ,
                                               "20 per hour"),
        # Failed staff console sign-ins, per staff name and per address.
        "TESSERA_RATELIMIT_STAFF_FAILURES": env("TESSERA_RATELIMIT_STAFF_FAILURES", environ,
                                                "10 per hour"),
        "TESSERA_DPOP_WINDOW_SECONDS": 300,
        "TESSERA_KEY_CACHE_SECONDS": int(env("TESSERA_KEY_CACHE_SECONDS", environ, "60")),
        # A Customer Area bearer token is good for an hour; signing in again makes a new one.
        "TESSERA_SESSION_SECONDS": int(env("TESSERA_SESSION_SECONDS", environ, "3600")),
        # A staff console session ends this long after sign-in, whatever the activity.
        "TESSERA_STAFF_SESSION_SECONDS": int(env("TESSERA_STAFF_SESSION_SECONDS", environ,
                                                 "28800")),
        # The issuer an authenticator app shows next to a staff member's TOTP entry.
        "TESSERA_TOTP_ISSUER": env("TESSERA_TOTP_ISSUER", environ, "Tessera"),
        "TESSERA_STATEMENT_TIMEOUT_MS": int(env("TESSERA_STATEMENT_TIMEOUT_MS", environ, "5000")),
        "TESSERA_LOCK_TIMEOUT_MS": int(env("TESSERA_LOCK_TIMEOUT_MS", environ, "3000")),
        "TESSERA_PASSWORD_HASH": (PASSWORD_HASH_TESTING if profile == "testing"
                                  else PASSWORD_HASH_PRODUCTION),
        "TESSERA_LOG_FORMAT": env("TESSERA_LOG_FORMAT", environ,
                                  "json" if profile == "production" else "text"),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # Browsers send the session cookie only over TLS, never to scripts or cross-site posts.
        "SESSION_COOKIE_SECURE": profile == "production",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "API_TITLE": "Tessera",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
    config.update(privacy_settings(environ, instance_dir))
    config.update(operations_settings(environ))
    config.update(compliance_settings(environ))
    config.update(overrides)
    if profile == "production":
        check_production(config, environ)
    if config["TESSERA_TRUSTED_COUNTRY_HEADER"] and config["TESSERA_TRUSTED_PROXIES"] < 1:
        raise ConfigurationError("TESSERA_TRUSTED_COUNTRY_HEADER is only trusted behind a proxy: "
                                 "set TESSERA_TRUSTED_PROXIES too")
    return config


def compliance_settings(environ: dict) -> dict:
    """Detection thresholds, export screening and disclosure delivery (config.compliance)."""
    from config.compliance import compliance_settings as settings

    return settings(environ)


def privacy_settings(environ: dict, instance_dir: Path) -> dict:
    """Settings of the privacy engine: geolocation, tombstones, the controller's identity."""
    geoip = env("TESSERA_GEOIP", environ, "embedded")
    if geoip not in ("embedded", "none"):
        raise ConfigurationError("TESSERA_GEOIP must be 'embedded' or 'none' "
                                 "(TESSERA_GEOIP_DB names a MaxMind-format database)")
    return {
        "TESSERA_GEOIP": geoip,
        "TESSERA_GEOIP_DB": env("TESSERA_GEOIP_DB", environ),
        "TESSERA_TRUSTED_COUNTRY_HEADER": env("TESSERA_TRUSTED_COUNTRY_HEADER", environ),
        "TESSERA_TOMBSTONE_PATH": env("TESSERA_TOMBSTONE_PATH", environ,
                                      str(instance_dir / "tombstones.jsonl")),
        "TESSERA_CONTROLLER_NAME": env("TESSERA_CONTROLLER_NAME", environ,
                                       "NUMECA International, Brussels, Belgium"),
        "TESSERA_CONTROLLER_CONTACT": env("TESSERA_CONTROLLER_CONTACT", environ,
                                          "info@numeca.com"),
        # Stored with every consent given or withdrawn (GDPR Art 7(1)).
        "TESSERA_PRIVACY_POLICY_VERSION": env("TESSERA_PRIVACY_POLICY_VERSION", environ,
                                              "2026-11"),
    }



def operations_settings(environ: dict) -> dict:
    """Settings of what operators look at: metrics."""
    metrics = (env("TESSERA_METRICS", environ) or "on").strip().lower()
    if metrics not in ("on", "off"):
        raise ConfigurationError("TESSERA_METRICS must be 'on' or 'off'")
    return {
        # Off: no request is counted and /metrics is not served (`make bench` compares both).
        "TESSERA_METRICS": metrics == "on",
        # /metrics answers other than a direct loopback peer only with this bearer token.
        "TESSERA_METRICS_TOKEN": env("TESSERA_METRICS_TOKEN", environ),
    }


# Key ids of new entries: pseudonym keys are numbered versions, vault keys "v<n>".
_KEY_PREFIX = {"TESSERA_PSEUDONYM_KEYS": "", "TESSERA_VAULT_KEYS": "v"}


def add_generated_key(instance_dir: Path, name: str, environ: dict | None = None) -> str:
    """Prepend a new key to NAME in the embedded profile's secrets.json; return its id.

    The new key becomes the current one (it encrypts, or makes new pseudonyms);
    the older ones stay, so everything made under them still reads. The file is
    replaced atomically and stays mode 0600.
    """
    environ = dict(os.environ if environ is None else environ)
    if name not in _KEY_PREFIX:
        raise ConfigurationError(f"{name} is not a keyring")
    if env(name, environ):
        raise ConfigurationError(f"{name} comes from the environment: prepend the new key "
                                 "there ('id:base64url,' + the current value)")
    path = instance_dir / "secrets.json"
    values = generated_secrets(instance_dir)
    keyring = parse_keyring(values[name], name)
    prefix = _KEY_PREFIX[name]
    numbers = [int(k[len(prefix):]) for k in keyring
               if k.startswith(prefix) and k[len(prefix):].isdigit()]
    key_id = f"{prefix}{max(numbers, default=0) + 1}"
    values[name] = f"{key_id}:{_new_key()}," + values[name]
    _write_secrets(path, values)
    return key_id


def _write_secrets(path: Path, values: dict) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secrets-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(values, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
