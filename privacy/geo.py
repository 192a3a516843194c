"""Where a request comes from, without keeping the address.

The full client address lives only in memory for the request: the country is
derived from it and at most a truncated prefix (/24 IPv4, /48 IPv6) is kept.

The country comes from, in order of configuration:

* a header set by a trusted proxy (``TESSERA_TRUSTED_COUNTRY_HEADER``, e.g.
  Cloudflare's ``CF-IPCountry``), honoured only behind a configured proxy;
* a MaxMind-format database named by ``TESSERA_GEOIP_DB`` (GeoLite2-Country,
  DB-IP Country Lite, ...), read with ``maxminddb``;
* the embedded offline database of ``iptocc`` (Regional Internet Registry
  delegations, refreshed with each release), so the default works with no
  download;
* nothing, when ``TESSERA_GEOIP=none``.

Like every optional integration, each source is a small class with the same
method, and the Null one keeps the service working without it.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Mapping, Protocol

log = logging.getLogger("tessera.privacy.geo")

IPV4_PREFIX = 24
IPV6_PREFIX = 48
# Codes that name no country: unknown, Tor, anonymous proxy, satellite, "other", regions.
_NOT_COUNTRIES = frozenset({"XX", "ZZ", "T1", "A1", "A2", "O1", "EU", "AP"})


@dataclass(frozen=True)
class Location:
    """What is kept of a request's origin: a country code and a truncated prefix."""

    country: str | None = None
    ip_prefix: str | None = None


def _address(text: str | None):
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def ip_prefix(text: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of an address, or None if it is not one."""
    return _prefix(_address(text))


def _prefix(address) -> str | None:
    if address is None:
        return None
    # The network address by masking the integer: what ip_network(strict=False) gives,
    # at a tenth of its cost (every refresh computes one).
    if address.version == 4:
        mask = (1 << 32) - (1 << (32 - IPV4_PREFIX))
        return f"{ipaddress.IPv4Address(int(address) & mask)}/{IPV4_PREFIX}"
    mask = (1 << 128) - (1 << (128 - IPV6_PREFIX))
    return f"{ipaddress.IPv6Address(int(address) & mask)}/{IPV6_PREFIX}"


def country_code(value) -> str | None:
    """An ISO 3166-1 alpha-2 code from VALUE, or None when it names no country."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha() or code in _NOT_COUNTRIES:
        return None
    return code


class CountryResolver(Protocol):
    """Find the country of a request from its address (and maybe its headers)."""

    def country(self, address: str | None, headers: Mapping[str, str]) -> str | None: ...


class NullCountryResolver:
    """No geolocation: every country is unknown."""

    name = "none"

    def country(self, address, headers):
        return None


class EmbeddedCountryResolver:
    """The offline RIR database shipped inside the ``iptocc`` wheel."""

    name = "embedded"

    def __init__(self):
        from iptocc import country_code as lookup

        self._lookup = lookup

    def country(self, address, headers):
        parsed = _address(address)
        return country_code(self._lookup(str(parsed))) if parsed is not None else None


class MaxMindCountryResolver:
    """A MaxMind-format (.mmdb) country or city database on disk."""

    name = "maxmind"

    def __init__(self, path: str):
        import maxminddb

        self._reader = maxminddb.open_database(path)

    def country(self, address, headers):
        parsed = _address(address)
        if parsed is None:
            return None
        try:
            record = self._reader.get(str(parsed))
        except ValueError:
            return None  # an IPv6 address against an IPv4-only database
        if not isinstance(record, dict):
            return None
        for key in ("country", "registered_country"):
            found = country_code((record.get(key) or {}).get("iso_code"))
            if found:
                return found
        return None

    def close(self) -> None:
        self._reader.close()


class HeaderCountryResolver:
    """The country a trusted proxy put in a header; FALLBACK when the header is absent."""

    name = "header"

    def __init__(self, header: str, fallback: CountryResolver):
        self._header = header
        self._fallback = fallback

    def country(self, address, headers):
        value = headers.get(self._header)
        if value is not None:
            return country_code(value)
        return self._fallback.country(address, headers)


def resolver_from_config(config: Mapping) -> CountryResolver:
    """Choose the country source the configuration names."""
    if config.get("TESSERA_GEOIP_DB"):
        resolver = MaxMindCountryResolver(config["TESSERA_GEOIP_DB"])
    elif config.get("TESSERA_GEOIP", "embedded") == "none":
        resolver = NullCountryResolver()
    else:
        resolver = EmbeddedCountryResolver()
    if config.get("TESSERA_TRUSTED_COUNTRY_HEADER"):
        resolver = HeaderCountryResolver(config["TESSERA_TRUSTED_COUNTRY_HEADER"], resolver)
    return resolver


class Locator:
    """Turn a request's address into a Location; the address itself goes no further."""

    def __init__(self, resolver: CountryResolver):
        self.resolver = resolver

    def locate(self, address: str | None, headers: Mapping[str, str]) -> Location:
        """The country and truncated prefix of ADDRESS."""
        try:
            country = self.resolver.country(address, headers)
        except Exception as exc:  # a broken database must not fail an activation
            log.warning("country look-up failed (%s)", type(exc).__name__)
            country = None
        return Location(country=country, ip_prefix=ip_prefix(address))
