"""The state file: owner-only, replaced atomically, and refused when damaged."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tessera_client import LicenseState, StateStore
from tessera_client.errors import LocalStateError


def test_state_round_trips_and_is_owner_only(tmp_path):
    store = StateStore(tmp_path / "state")
    state = LicenseState(product="numflo", activation_id="act_1", last_seen=1800000000)

    store.save(state)

    assert store.load() == state
    if os.name == "posix":
        assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(store.directory).st_mode) == 0o700


def test_a_failed_write_leaves_the_previous_state_and_no_debris(tmp_path):
    store = StateStore(tmp_path)
    store.save(LicenseState(product="numflo", activation_id="act_1"))
    broken = LicenseState(product="numflo", license={"not json": object()})

    with pytest.raises(TypeError):
        store.save(broken)

    assert store.load().activation_id == "act_1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


@pytest.mark.parametrize(
    "content", ["{not json", "[]", '{"version": 1}', '{"product": "numflo", "version": 99}']
)
def test_a_damaged_or_foreign_state_file_is_refused(tmp_path, content):
    (tmp_path / "state.json").write_text(content)

    with pytest.raises(LocalStateError):
        StateStore(tmp_path).load()


def test_fields_written_by_a_newer_client_are_ignored(tmp_path):
    data = {"product": "numflo", "activation_id": "act_1", "version": 1, "added_later": True}
    (tmp_path / "state.json").write_text(json.dumps(data))

    state = StateStore(tmp_path).load()

    assert state.activation_id == "act_1" and not hasattr(state, "added_later")


def test_no_state_file_means_no_state(tmp_path):
    assert StateStore(tmp_path / "missing").load() is None
