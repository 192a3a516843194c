"""The client's floating-seat support against a real Tessera: components, borrowing,
the background lease keeper and check-in."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from live import live_server, server_env
from tessera_client import (
    BorrowNotAllowed,
    LeaseKeeper,
    LicenseClient,
    SeatLimitReached,
    derive_component,
    read_components,
)
from tessera_client.cli import main
from tessera_client.components import hash_components, linux_cpu, linux_disk_serial

from core.database import db
from licensing.activation.models import Seat

pytestmark = pytest.mark.slow
PARTS = {"machine_id": "mid-7f1c", "disk": "WD-WX11A", "mac": "3c22fb000001",
         "cpu": "GenuineIntel|Xeon"}


@pytest.fixture
def service(app, migrated, tmp_path):
    with live_server(server_env(migrated, tmp_path / "instance"), workers=2,
                     log_path=tmp_path / "server.log") as base_url:
        yield base_url


def installation(tmp_path: Path, base_url: str, name: str, parts: dict | None = None,
                 product: str = "numflo") -> LicenseClient:
    return LicenseClient(product, tmp_path / name, server_url=base_url,
                         fingerprint=f"floating-device-{name}-0001",
                         components_reader=lambda p: hash_components(parts or {}, p))


def test_components_are_hashed_per_product_and_name():
    one = derive_component("disk", "WD-WX11A", "numflo")
    assert len(one) == 64 and "WD" not in one
    assert one != derive_component("disk", "WD-WX11A", "other")
    assert one != derive_component("mac", "WD-WX11A", "numflo")
    assert hash_components({"disk": "WD-WX11A", "mac": " "}, "numflo") == {"disk": one}


def test_linux_parts_are_read_from_sysfs_and_cpuinfo(tmp_path):
    for name, serial in (("loop0", "virtual"), ("sda", "S3Z9NB0K"), ("sdb", "OTHER")):
        (tmp_path / "block" / name / "device").mkdir(parents=True)
        (tmp_path / "block" / name / "device" / "serial").write_text(serial + "\n")
    assert linux_disk_serial(tmp_path) == "S3Z9NB0K"
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n"
                       "model\t\t: 85\nmodel name\t: Xeon Gold\nstepping\t: 7\n\n"
                       "processor\t: 1\nvendor_id\t: Other\n")
    assert linux_cpu(cpuinfo) == "GenuineIntel|Xeon Gold|6|85|7"
    assert linux_disk_serial(tmp_path / "missing") is None


def test_this_machine_gives_at_least_its_machine_id():
    parts = read_components()
    assert "machine_id" in parts and all(isinstance(v, str) and v for v in parts.values())


def test_a_new_fingerprint_keeps_its_seat_by_components(app, tmp_path, world, admin, service):
    admin.create_product("cfd", "CFD", fingerprint_match="most")
    db.session.commit()
    world.setup(seats=1, product="cfd")
    first = installation(tmp_path, service, "before", PARTS, product="cfd")
    activated = first.activate(**world.credentials())
    after_new_disk = installation(tmp_path, service, "after", dict(PARTS, disk="NEW-DISK"),
                                  product="cfd")
    kept = after_new_disk.activate(**world.credentials())
    assert kept.activation_id == activated.activation_id
    with pytest.raises(SeatLimitReached):
        installation(tmp_path, service, "stranger", {"disk": "X", "mac": "Y"},
                     product="cfd").activate(**world.credentials())
    stored = db.session.scalar(sa.select(Seat.device_components)
                               .where(Seat.id == kept.activation_id))
    assert set(stored) == set(PARTS)
    assert not any(raw in value for raw in PARTS.values() for value in stored.values())


def test_borrow_through_the_client(tmp_path, world, service):
    world.setup(seats=1, seat_mode="floating", max_borrow_seconds=2 * 86400)
    client = installation(tmp_path, service, "laptop")
    client.activate(**world.credentials())
    until = int(time.time()) + 86400
    status = client.borrow(until)
    assert status.valid and status.lease_expires_at == until
    with pytest.raises(BorrowNotAllowed):
        client.borrow(int(time.time()) + 3 * 86400)


def test_borrow_on_a_node_locked_license_is_refused(tmp_path, world, service):
    world.setup(seats=1)
    client = installation(tmp_path, service, "desk")
    client.activate(**world.credentials())
    with pytest.raises(BorrowNotAllowed):
        client.borrow(int(time.time()) + 3600)


def test_the_keeper_refreshes_in_the_background_and_checks_in(tmp_path, world, service):
    world.setup(seats=1, seat_mode="floating", lease_seconds=4)
    client = installation(tmp_path, service, "node1")
    first = client.activate(**world.credentials())
    keeper = LeaseKeeper(client, retry_seconds=1, check_in_at_exit=False).start()
    try:
        time.sleep(6)  # longer than the lease: only background refreshes keep the seat
        with keeper.lock:
            status = client.status()
        assert status.valid and status.lease_expires_at > first.lease_expires_at
        with pytest.raises(SeatLimitReached):
            installation(tmp_path, service, "node2").activate(**world.credentials())
    finally:
        keeper.stop()
    assert keeper.lost is None
    assert not client.status().valid  # checked in: the lease is forgotten
    installation(tmp_path, service, "node3").activate(**world.credentials())


def test_the_keeper_reports_a_lapsed_seat(tmp_path, world, service):
    world.setup(seats=1, seat_mode="floating", lease_seconds=2)
    client = installation(tmp_path, service, "sleepy")
    client.activate(**world.credentials())
    time.sleep(3)  # the lease lapses before the keeper starts
    installation(tmp_path, service, "other").activate(**world.credentials())
    lost = []
    keeper = LeaseKeeper(client, retry_seconds=1, check_in_at_exit=False,
                         on_lost=lost.append).start()
    deadline = time.monotonic() + 10
    while not lost and time.monotonic() < deadline:
        time.sleep(0.1)
    keeper.stop()
    assert [error.code for error in lost] == ["ACTIVATION_RELEASED"]


def test_the_command_line_borrows_and_sends_no_components_when_asked(app, tmp_path, world,
                                                                    service, capsys):
    world.setup(seats=1, seat_mode="floating", max_borrow_seconds=2 * 86400)
    state = str(tmp_path / "cli")
    code = main(["activate", "--server", service, "--product", "numflo", "--fingerprint",
                 "floating-cli-device-0001", "--username", "alice", "--password",
                 world.password, "--no-components", "--state-dir", state, "--json"])
    assert code == 0, capsys.readouterr()
    with app.app_context():
        assert db.session.scalar(sa.select(Seat.device_components)) is None
    capsys.readouterr()
    assert main(["borrow", "--hours", "24", "--state-dir", state, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    ends = answer["lease_expires_at"]
    assert answer["ok"] and abs(_epoch(ends) - (time.time() + 86400)) < 120
    assert main(["borrow", "--hours", "72", "--state-dir", state, "--json"]) != 0
    refused = json.loads(capsys.readouterr().out)
    assert refused["error"]["code"] == "BORROW_NOT_ALLOWED"


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
