"""Country and truncated prefix from the request's address; the address itself is not kept."""

from __future__ import annotations

import ipaddress
import random

import mmdb_writer
import pytest
import sqlalchemy as sa
from support import Device

from config.settings import ConfigurationError, load_config
from core.database import db
from licensing.activation.models import Seat
from privacy.geo import (EmbeddedCountryResolver, HeaderCountryResolver, Locator,
                         MaxMindCountryResolver, NullCountryResolver, country_code, ip_prefix,
                         resolver_from_config)

GB_ADDRESS = "81.2.69.160"  # RIR: GB
US_ADDRESS = "8.8.8.8"


@pytest.mark.parametrize("address, prefix", [
    ("81.2.69.160", "81.2.69.0/24"),
    ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48"),
    ("::ffff:81.2.69.160", "81.2.69.0/24"),
    ("fe80::1%eth0", "fe80::/48"),
    ("not an address", None),
    ("", None),
    (None, None),
])
def test_prefix_truncates_to_24_or_48_bits(address, prefix):
    assert ip_prefix(address) == prefix


def test_country_codes_are_iso_letters_only():
    assert country_code("be") == "BE"
    assert [country_code(v) for v in ("XX", "T1", "EU", "B", "BEL", "1A", None, "ÉÉ")] == [None] * 8


def test_embedded_database_works_offline():
    resolver = EmbeddedCountryResolver()
    assert resolver.country(GB_ADDRESS, {}) == "GB"
    assert resolver.country(US_ADDRESS, {}) == "US"
    assert resolver.country("::ffff:8.8.8.8", {}) == "US"
    assert resolver.country("2001:4860:4860::8888", {}) == "US"
    assert resolver.country("10.1.2.3", {}) is None
    assert resolver.country("garbage", {}) is None


def test_maxmind_database_is_read_with_maxminddb(tmp_path):
    path = tmp_path / "country.mmdb"
    mmdb_writer.write(path, {"81.2.69.0/24": {"country": {"iso_code": "GB"}},
                             "2001:db8::/32": {"country": {"iso_code": "BE"}},
                             "203.0.113.0/24": {"registered_country": {"iso_code": "NZ"}}})
    resolver = MaxMindCountryResolver(str(path))
    assert resolver.country(GB_ADDRESS, {}) == "GB"
    assert resolver.country("::ffff:81.2.69.1", {}) == "GB"
    assert resolver.country("2001:db8:1::5", {}) == "BE"
    assert resolver.country("203.0.113.77", {}) == "NZ"
    assert resolver.country(US_ADDRESS, {}) is None
    resolver.close()


def test_trusted_header_wins_and_falls_back_when_absent():
    resolver = HeaderCountryResolver("CF-IPCountry", EmbeddedCountryResolver())
    assert resolver.country(US_ADDRESS, {"CF-IPCountry": "be"}) == "BE"
    assert resolver.country(US_ADDRESS, {"CF-IPCountry": "XX"}) is None
    assert resolver.country(US_ADDRESS, {}) == "US"


def test_configuration_chooses_the_resolver(tmp_path):
    path = tmp_path / "c.mmdb"
    mmdb_writer.write(path, {"81.2.69.0/24": {"country": {"iso_code": "GB"}}})
    assert isinstance(resolver_from_config({}), EmbeddedCountryResolver)
    assert isinstance(resolver_from_config({"TESSERA_GEOIP": "none"}), NullCountryResolver)
    assert isinstance(resolver_from_config({"TESSERA_GEOIP_DB": str(path)}),
                      MaxMindCountryResolver)
    header = resolver_from_config({"TESSERA_TRUSTED_COUNTRY_HEADER": "CF-IPCountry",
                                   "TESSERA_GEOIP": "none"})
    assert isinstance(header, HeaderCountryResolver)


def test_a_country_header_is_refused_without_a_trusted_proxy(tmp_path):
    environ = {"TESSERA_INSTANCE_DIR": str(tmp_path),
               "TESSERA_TRUSTED_COUNTRY_HEADER": "CF-IPCountry"}
    with pytest.raises(ConfigurationError):
        load_config(environ=environ)
    assert load_config(environ={**environ, "TESSERA_TRUSTED_PROXIES": "1"})[
        "TESSERA_TRUSTED_COUNTRY_HEADER"] == "CF-IPCountry"


def test_a_failing_resolver_does_not_fail_the_request():
    class Broken:
        def country(self, address, headers):
            raise OSError("database file vanished")

    assert Locator(Broken()).locate(GB_ADDRESS, {}).ip_prefix == "81.2.69.0/24"


def _seat(app, activation_id: str) -> Seat:
    with app.app_context():
        seat = db.session.get(Seat, activation_id)
        db.session.expunge(seat)
        return seat


def _activate(client, world, device, **environ):
    path = "/v1/activations"
    return client.post(path, json=device.activation_body(**world.credentials()),
                       headers={"DPoP": device.proof("POST", path),
                                "X-Forwarded-For": "8.8.8.8"},
                       environ_base=environ)


def test_activation_and_refresh_keep_country_and_prefix_only(app, client, world):
    world.setup()
    device = Device()
    answer = _activate(client, world, device, REMOTE_ADDR=GB_ADDRESS)
    assert answer.status_code == 201
    seat = _seat(app, answer.json["activation_id"])
    # No proxy is trusted: the forged X-Forwarded-For changes nothing.
    assert (seat.country, seat.ip_prefix) == ("GB", "81.2.69.0/24")
    assert seat.ip_prefix_at is not None
    path = f"/v1/activations/{seat.id}/refresh"
    refreshed = client.post(path, json={}, headers={"DPoP": device.proof("POST", path)},
                            environ_base={"REMOTE_ADDR": "2001:4860:4860::8888"})
    assert refreshed.status_code == 200
    seat = _seat(app, seat.id)
    assert (seat.country, seat.ip_prefix) == ("US", "2001:4860:4860::/48")
    with app.app_context():
        stored = " ".join(str(v) for v in db.session.execute(sa.select(Seat.__table__)).one())
    assert GB_ADDRESS not in stored and "2001:4860:4860::8888" not in stored


@pytest.fixture
def behind_proxy(app_config):
    app_config.update(TESSERA_TRUSTED_PROXIES=1)
    return app_config


def test_behind_one_trusted_proxy_the_forwarded_client_counts(behind_proxy, app, client, world):
    world.setup()
    path = "/v1/activations"
    device = Device()
    answer = client.post(path, json=device.activation_body(**world.credentials()),
                         headers={"DPoP": device.proof("POST", path),
                                  "X-Forwarded-For": f"8.8.8.8, {GB_ADDRESS}"},
                         environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert answer.status_code == 201
    seat = _seat(app, answer.json["activation_id"])
    # One hop trusted: the address the proxy saw (the last), not what the client claimed.
    assert (seat.country, seat.ip_prefix) == ("GB", "81.2.69.0/24")


@pytest.fixture
def country_header(app_config):
    app_config.update(TESSERA_TRUSTED_PROXIES=1, TESSERA_TRUSTED_COUNTRY_HEADER="CF-IPCountry")
    return app_config


def test_trusted_country_header_is_used(country_header, app, client, world):
    world.setup()
    device = Device()
    path = "/v1/activations"
    answer = client.post(path, json=device.activation_body(**world.credentials()),
                         headers={"DPoP": device.proof("POST", path), "CF-IPCountry": "NL",
                                  "X-Forwarded-For": GB_ADDRESS},
                         environ_base={"REMOTE_ADDR": "10.0.0.2"})
    seat = _seat(app, answer.json["activation_id"])
    assert (seat.country, seat.ip_prefix) == ("NL", "81.2.69.0/24")


def test_the_prefix_is_the_network_ipaddress_computes():
    rng = random.Random(5)
    for _ in range(2000):
        v4 = ipaddress.IPv4Address(rng.getrandbits(32))
        v6 = ipaddress.IPv6Address(rng.getrandbits(128))
        assert ip_prefix(str(v4)) == str(ipaddress.ip_network((v4, 24), strict=False))
        assert ip_prefix(str(v6)) == str(ipaddress.ip_network((v6, 48), strict=False))
