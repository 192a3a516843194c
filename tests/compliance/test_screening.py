"""Export screening: embargoed countries and denied-party lists (file and HTTP)."""

from __future__ import annotations

import json

import pytest
import requests
import responses
import sqlalchemy as sa

from compliance_support import activate, records, refresh
from core.database import db
from licensing.accounts.models import Account
from licensing.activation.models import Seat
from licensing.compliance.screening import (FileScreening, HttpScreening, ListMatcher, Party,
                                            ScreeningUnavailable, entries_from_rows)
from support import Device

# The columns of the published consolidated screening list, a few rows of made-up parties.
CSL_HEADER = ("_id,source,entity_number,type,programs,name,title,addresses,federal_register_"
              "notice,start_date,end_date,standard_order,license_requirement,license_policy,"
              "call_sign,vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,"
              "vessel_owner,remarks,source_list_url,alt_names,citizenships,dates_of_birth,"
              "nationalities,places_of_birth,source_information_url,ids")
CSL_ROWS = [
    '1,Entity List (EL) - Bureau of Industry and Security,,Entity,,"Zorglub Dynamics, Ltd.",,'
    '"12 Nowhere St, Pyongyang, KP",,,,,,,,,,,,,,,"Zorglub Dyn.; ZD Trading",,,,,,',
    '2,Specially Designated Nationals (SDN) - Treasury Department,,Individual,,'
    '"LIDDELL, Alice",,,,,,,,,,,,,,,,,"Alys Liddel",,,,,,',
]
API = "https://screening.example.test/v1/search"


def write_list(path) -> str:
    path.write_text("\n".join([CSL_HEADER, *CSL_ROWS]) + "\n", encoding="utf-8")
    return str(path)


def test_an_activation_from_an_embargoed_country_is_refused_and_recorded(client, world,
                                                                        officer):
    world.setup()
    refused = activate(client, Device(), world.credentials(), country="KP")
    assert refused.status_code == 403 and refused.json["code"] == "EXPORT_RESTRICTED"
    (record,) = records(client, officer)
    assert record["kind"] == "export_blocked_country" and record["tags"] == [
        "export.compliance"]
    assert record["country"] == "KP" and record["retain_until"] is not None


def test_a_refresh_from_an_embargoed_country_is_refused_and_leaves_the_seat_alone(
        app, client, world, officer):
    world.setup()
    device = Device()
    answer = activate(client, device, world.credentials(), country="DE").json
    refused = refresh(client, device, answer["activation_id"], country="IR")
    assert refused.status_code == 403 and refused.json["code"] == "EXPORT_RESTRICTED"
    (record,) = records(client, officer)
    assert record["kind"] == "export_blocked_country" and record["country"] == "IR"
    assert record["license"] == answer["license"]["id"]
    with app.app_context():
        assert db.session.get(Seat, answer["activation_id"]).country == "DE"
    assert refresh(client, device, answer["activation_id"], country="DE").status_code == 200


def test_the_embargo_list_is_configurable(app_factory, world):
    client = app_factory(TESSERA_EMBARGOED_COUNTRIES=frozenset({"FR"})).test_client()
    world.setup()
    assert activate(client, Device(), world.credentials(), country="KP").status_code == 201
    assert activate(client, Device(), world.credentials(), country="FR").status_code == 403


def test_an_account_on_the_screening_list_file_is_refused_and_recorded(
        app_factory, world, admin, officer, tmp_path):
    client = app_factory(TESSERA_SCREENING="file:" + write_list(tmp_path / "csl.csv"),
                         TESSERA_SCREENING_THRESHOLD=90).test_client()
    world.setup()
    admin.create_account("wonder", world.password, "wonder@example.com",
                         name="Alice Liddell", company="Rabbit Hole GmbH")
    admin.issue_license("wonder", "numflo", seats=1, kind="subscription", entitlements=[])
    db.session.commit()
    refused = activate(client, Device(), world.credentials("wonder"))
    assert refused.status_code == 403 and refused.json["code"] == "EXPORT_RESTRICTED"
    (record,) = records(client, officer)
    assert record["kind"] == "export_denied_party"
    assert record["evidence"]["list"].startswith("Specially Designated Nationals")
    assert "liddell" not in str(record).lower(), "the record names no one"
    # alice (name "Alice", company "Example NV") is on no list.
    assert activate(client, Device(), world.credentials()).status_code == 201


def test_an_activation_by_code_screens_the_code_s_account_too(app_factory, world, admin,
                                                               tmp_path):
    # The code's account is read as bare columns; its name and company (encrypted) are
    # loaded for the screening only.
    client = app_factory(TESSERA_SCREENING="file:" + write_list(tmp_path / "csl.csv"),
                         TESSERA_SCREENING_THRESHOLD=90).test_client()
    world.setup()
    admin.create_account("wonder", world.password, "wonder@example.com",
                         name="Alice Liddell", company="Rabbit Hole GmbH")
    listed = admin.issue_license("wonder", "numflo", seats=1, kind="subscription",
                                 entitlements=[]).id
    db.session.commit()
    refused = activate(client, Device(), {"activation_code": world.code(listed)})
    assert refused.status_code == 403 and refused.json["code"] == "EXPORT_RESTRICTED"
    clean = world.setup(seats=1)
    assert activate(client, Device(), {"activation_code": world.code(clean)}).status_code == 201


@pytest.mark.parametrize("name, company, expected", [
    ("Alice Liddell", None, 100.0),            # order of the words
    ("Álice Liddéll", None, 100.0),            # accents
    ("Alice Lidell", None, True),              # a typo
    ("Alys Liddel", None, 100.0),              # an alias
    ("Alys Lidel", None, True),                # a typo in an alias
    (None, "ZORGLUB DYNAMICS LTD", 100.0),     # a company, punctuation and case
    ("Alice Cooper", "Example NV", None),      # a shared first name is no match
])
def test_names_match_fuzzily_above_the_threshold(tmp_path, name, company, expected):
    match = FileScreening(write_list(tmp_path / "csl.csv"), 90).screen(
        Party(name, company, None))
    if expected is None:
        assert match is None
    elif expected is True:
        assert match is not None and 90 <= match.score < 100
    else:
        assert match is not None and match.score == expected


def _http(fail_closed: bool = False, **options) -> HttpScreening:
    return HttpScreening(API, "key-123", timeout=1, fail_closed=fail_closed,
                         cache_seconds=options.pop("cache_seconds", 60), threshold=90, **options)


ALICE = Party("Alice Liddell", None, "GB")


@responses.activate
def test_the_http_provider_finds_a_hit_and_sends_its_key():
    responses.get(API, json={"total": 1, "results": [
        {"name": "LIDDELL, Alice", "alt_names": ["Alys Liddel"], "source": "SDN"}]})
    match = _http().screen(ALICE)
    assert match is not None and match.source == "SDN" and match.score == 100.0
    (call,) = responses.calls
    assert call.request.headers["subscription-key"] == "key-123"
    assert "name=Alice+Liddell" in call.request.url


@responses.activate
def test_the_http_provider_misses_and_caches_the_answer():
    responses.get(API, json={"total": 1, "results": [{"name": "Somebody Else"}]})
    screening = _http()
    assert screening.screen(ALICE) is None
    assert screening.screen(ALICE) is None
    assert len(responses.calls) == 1, "the second screening came from the cache"


@responses.activate
def test_the_cache_expires():
    responses.get(API, json={"results": []})
    now = [0.0]
    screening = _http(cache_seconds=10, clock=lambda: now[0])
    screening.screen(ALICE)
    now[0] = 11.0
    screening.screen(ALICE)
    assert len(responses.calls) == 2


@pytest.mark.parametrize("failure", [
    {"body": requests.Timeout()},
    {"status": 503, "json": {"error": "down"}},
    {"body": "<html>not json</html>", "content_type": "text/html"},
    {"json": {"results": "not a list"}},
], ids=["timeout", "5xx", "malformed", "no-results-list"])
def test_the_http_provider_fails_open_or_closed(failure):
    with responses.RequestsMock() as mock:
        mock.get(API, **failure)
        assert _http(fail_closed=False).screen(ALICE) is None
    with responses.RequestsMock() as mock:
        mock.get(API, **failure)
        with pytest.raises(ScreeningUnavailable):
            _http(fail_closed=True).screen(ALICE)


@responses.activate
def test_a_failed_answer_is_not_cached():
    responses.get(API, status=500)
    responses.get(API, json={"results": [{"name": "Alice Liddell", "source": "EL"}]})
    screening = _http()
    assert screening.screen(ALICE) is None
    assert screening.screen(ALICE).source == "EL"


def test_screening_through_http_at_activation_fails_closed_with_503(app_factory, world):
    client = app_factory(TESSERA_SCREENING="http:" + API, TESSERA_SCREENING_FAIL="closed",
                         TESSERA_SCREENING_TIMEOUT=1).test_client()
    world.setup()
    with responses.RequestsMock() as mock:
        mock.get(API, status=502)
        answer = activate(client, Device(), world.credentials())
    assert answer.status_code == 503 and answer.json["code"] == "UNAVAILABLE"


def test_list_rows_give_a_name_per_alias():
    entries = entries_from_rows([{"name": "A B", "alt_names": "C D; ;E", "source": "X"}], "f")
    assert entries == [("a b", "X"), ("c d", "X"), ("e", "X")]
    assert ListMatcher(entries, 90).best(Party("b a", None, None)).source == "X"


def _wonderland(admin, world) -> None:
    """An account whose holder is on the list of write_list, with a one-seat license."""
    admin.create_account("wonder", world.password, "wonder@example.com",
                         name="Alice Liddell", company="Rabbit Hole GmbH")
    admin.issue_license("wonder", "numflo", seats=1, kind="subscription", entitlements=[])
    db.session.commit()


def _verdict(username: str):
    account = db.session.scalar(sa.select(Account).where(Account.username == username))
    db.session.refresh(account)
    return account.screened_against, account.screening_match


def test_a_refresh_screens_the_account_once_the_list_names_it(
        app, app_factory, world, admin, officer, tmp_path):
    """A party listed after its activation is refused at its next refresh, and recorded."""
    world.setup()
    _wonderland(admin, world)
    empty = tmp_path / "empty.csv"
    empty.write_text(CSL_HEADER + "\n", encoding="utf-8")
    before = app_factory(TESSERA_SCREENING=f"file:{empty}").test_client()
    device = Device()
    answer = activate(before, device, world.credentials("wonder")).json
    assert refresh(before, device, answer["activation_id"]).status_code == 200
    with app.app_context():
        against, match = _verdict("wonder")
        assert against.startswith("file:") and match is None
        stamped = db.session.get(Seat, answer["activation_id"]).last_refresh_at

    after = app_factory(TESSERA_SCREENING="file:" + write_list(tmp_path / "csl.csv"),
                        TESSERA_SCREENING_THRESHOLD=90).test_client()
    refused = refresh(after, device, answer["activation_id"], country="FR")
    assert refused.status_code == 403 and refused.json["code"] == "EXPORT_RESTRICTED"
    (record,) = records(after, officer)
    assert record["kind"] == "export_denied_party" and record["tags"] == ["export.compliance"]
    assert record["license"] == answer["license"]["id"] and record["country"] == "FR"
    assert record["evidence"]["provider"] == "file" and record["evidence"]["score"] == 100.0
    with app.app_context():
        against, match = _verdict("wonder")
        assert against.endswith(":90") and match["score"] == 100.0, "the hit outlived the 403"
    # The next refresh reads the stored hit: refused again without a stamp, one record.
    assert refresh(after, device, answer["activation_id"]).status_code == 403
    (record,) = records(after, officer)
    assert record["count"] == 2
    with app.app_context():
        seat = db.session.get(Seat, answer["activation_id"])
        assert seat.last_refresh_at == stamped and seat.country == "DE", "a refusal stamps nothing"


def test_with_screening_turned_off_an_earlier_hit_refuses_nothing(app_factory, world, admin,
                                                                   tmp_path):
    world.setup()
    _wonderland(admin, world)
    empty = tmp_path / "empty.csv"
    empty.write_text(CSL_HEADER + "\n", encoding="utf-8")
    device = Device()
    answer = activate(app_factory(TESSERA_SCREENING=f"file:{empty}").test_client(), device,
                      world.credentials("wonder")).json
    listed = app_factory(TESSERA_SCREENING="file:" + write_list(tmp_path / "csl.csv"),
                         TESSERA_SCREENING_THRESHOLD=90).test_client()
    assert refresh(listed, device, answer["activation_id"]).status_code == 403
    unscreened = app_factory(TESSERA_SCREENING="none").test_client()
    assert refresh(unscreened, device, answer["activation_id"]).status_code == 200


def test_a_refresh_reads_the_stored_verdict_instead_of_asking_again(app_factory, world, admin):
    """The HTTP provider is asked at activation; refreshes, even of a new process, are not."""
    settings = {"TESSERA_SCREENING": "http:" + API, "TESSERA_SCREENING_CACHE_SECONDS": 3600}
    client = app_factory(**settings).test_client()
    world.setup()
    device = Device()
    with responses.RequestsMock() as mock:
        mock.get(API, json={"results": [{"name": "Somebody Else", "source": "SDN"}]})
        answer = activate(client, device, world.credentials()).json
        asked = len(mock.calls)
        assert asked >= 1
        # Another process: its in-memory cache is empty, the account's verdict is not.
        other = app_factory(**settings).test_client()
        for _ in range(3):
            assert refresh(other, device, answer["activation_id"]).status_code == 200
        assert len(mock.calls) == asked


def test_a_screening_that_failed_open_is_asked_again(app, app_factory, world):
    """Failing open lets the device work but keeps no verdict: the next request asks again."""
    client = app_factory(TESSERA_SCREENING="http:" + API, TESSERA_SCREENING_FAIL="open",
                         TESSERA_SCREENING_TIMEOUT=1).test_client()
    world.setup()
    device = Device()
    with responses.RequestsMock() as mock:
        mock.get(API, status=503)
        answer = activate(client, device, world.credentials()).json
        with app.app_context():
            assert _verdict("alice") == (None, None)
        mock.replace(responses.GET, API, json={"results": []})
        assert refresh(client, device, answer["activation_id"]).status_code == 200
    with app.app_context():
        against, match = _verdict("alice")
        assert against.startswith("http:") and match is None


def test_changing_the_name_screens_the_account_again(app, app_factory, world, admin, tmp_path):
    client = app_factory(TESSERA_SCREENING="file:" + write_list(tmp_path / "csl.csv"),
                         TESSERA_SCREENING_THRESHOLD=90).test_client()
    world.setup()
    device = Device()
    answer = activate(client, device, world.credentials()).json
    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.username == "alice"))
        assert account.screened_against is not None
        account.name = "Alice Liddell"
        assert account.screened_against is None
        db.session.commit()
    refused = refresh(client, device, answer["activation_id"])
    assert refused.status_code == 403 and refused.json["code"] == "EXPORT_RESTRICTED"


def test_screen_accounts_screens_everyone_against_a_new_list(app_factory, world, admin,
                                                            officer, tmp_path):
    world.setup()
    _wonderland(admin, world)
    settings = {"TESSERA_SCREENING": "file:" + write_list(tmp_path / "csl.csv"),
                "TESSERA_SCREENING_THRESHOLD": 90}
    app = app_factory(**settings)
    runner = app.test_cli_runner()
    # The command runs in the app context it finds (another app's is open in this test).
    with app.app_context():
        done = runner.invoke(args=["compliance", "screen-accounts", "--batch-size", "1",
                                   "--json"])
        assert done.exit_code == 0, done.output
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert summary["accounts"] == 2 and summary["hits"] == 1
        assert _verdict("alice")[1] is None and _verdict("wonder")[1]["score"] == 100.0
        # A second walk finds every verdict holding: nothing screened or recorded again.
        again = runner.invoke(args=["compliance", "screen-accounts", "--json"])
        assert json.loads(again.stdout.strip().splitlines()[-1])["hits"] == 0
    (record,) = records(app.test_client(), officer)
    assert record["kind"] == "export_denied_party" and record["evidence"]["provider"] == "file"
    assert record["count"] == 1


def test_screen_accounts_without_a_list_refuses(runner):
    done = runner.invoke(args=["compliance", "screen-accounts"])
    assert done.exit_code == 1 and "no list" in done.output
