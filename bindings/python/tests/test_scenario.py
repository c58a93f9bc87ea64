"""The Gridwork bindings from Python: the same scenario as the Kotlin JVM tests.

Run through `bash bindings/python/run.sh`, which generates the bindings
(`target/bindings/python`, on PYTHONPATH) and starts a real gridwork-server
(`bindings/with-test-server.sh`). Tests that need the server are skipped when
GRIDWORK_TEST_SERVER is unset.

Every test works on its own stores under its own `tmp_path` and makes no
assumption about what other tests left on the shared server (households of
earlier tests in grid G1 reach every new phone of G1), so the order of the
tests does not matter.
"""

import asyncio
import datetime
import json
import os
import shlex
import subprocess
import threading
import time

import pytest

import gridwork_ffi as gw
from gridwork_ffi import ApiError, GridworkStore, OpenOptions, StoreKey

SERVER = os.environ.get("GRIDWORK_TEST_SERVER")
needs_server = pytest.mark.skipif(
    not SERVER, reason="GRIDWORK_TEST_SERVER is not set (run bindings/python/run.sh)"
)

KEY = bytes(range(1, 33))  # 32 bytes, a test key; real apps keep random bytes in the keystore
VALID_ID = "11010519491231002X"  # GB 11643, born 1949-12-31, check digit X


# --- helpers -----------------------------------------------------------------


def open_store(path, key=None, timezone=None):
    return GridworkStore.open(str(path), OpenOptions(key=key, timezone=timezone))


def new_household(address, *, phone="", tags=(), representative=""):
    return gw.NewHousehold(
        community="",
        building="",
        unit="",
        room="",
        address=address,
        representative=representative,
        phone=phone,
        tags=list(tags),
        risk="",
        note="",
    )


def new_resident(name, *, id_number="", phone="", tags=()):
    return gw.NewResident(
        name=name,
        gender="",
        birth_date="",
        id_number=id_number,
        phone=phone,
        relation="",
        tags=list(tags),
    )


def phone_edit(phone):
    return gw.HouseholdEdit(
        community=None,
        building=None,
        unit=None,
        room=None,
        address=None,
        representative=None,
        phone=phone,
        add_tags=[],
        remove_tags=[],
        risk=None,
        status=None,
        note=None,
    )


def new_visit(household, answers, note=""):
    return gw.NewVisit(
        household=household,
        started_at=None,
        ended_at=None,
        location=None,
        answers=answers,
        note=note,
        follow_up_cases=[],
        photos=[],
    )


def hazard_edit(*, severity=None, description=None, place=None, deadline=None):
    return gw.HazardEdit(description=description, severity=severity, deadline=deadline, place=place)


def new_hazard(category, description, *, severity=""):
    return gw.NewHazard(
        category=category,
        severity=severity,
        location=None,
        place="",
        description=description,
        household=None,
        deadline=None,
        photos=[],
    )


def new_case(category, description):
    return gw.NewCase(
        channel="",
        category=category,
        description=description,
        urgency="",
        household=None,
        resident=None,
        opened_at=None,
    )


def initialised(path, worker="gw-a", name="网格员甲", grid="G1", **options):
    store = open_store(path, **options)
    store.init(worker, name, grid)
    return store


def gb11643_check_digit(first17):
    """The GB 11643 check character of the first 17 digits (ISO 7064 MOD 11-2)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights))
    return "10X98765432"[total % 11]


def utc_date(millis):
    return datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.timezone.utc).date()


class RecordingListener(gw.SyncListener):
    """A Python implementation of the foreign trait SyncListener."""

    def __init__(self):
        self.progress = []
        self.on_main_thread = []

    def on_progress(self, progress):
        self.progress.append(progress)
        self.on_main_thread.append(threading.current_thread() is threading.main_thread())


def sync(store, token, listener=None, cancel=None):
    return asyncio.run(store.sync(SERVER, token, listener, cancel))


def token(letter):
    return os.environ[f"GRIDWORK_TEST_TOKEN_{letter}"]


def state(store):
    """What two converged replicas must agree on."""
    households = sorted(
        (
            str(h.id),
            h.address,
            sorted(t.name for t in h.tags),
            h.residents,
            h.last_visit_at,
        )
        for h in store.list_households()
    )
    conflicts = sorted(
        (
            c.record,
            c.record_id,
            str(c.household),
            c.field,
            sorted((v.value, v.by) for v in c.values),
        )
        for c in store.conflicts()
    )
    return households, conflicts


# --- stores and keys -----------------------------------------------------------


def test_plain_store_opens_without_a_key(tmp_path):
    store = open_store(tmp_path / "plain.db")
    assert store.init("gw-a", "网格员甲", "G1").grid == "G1"
    store.add_household(new_household("幸福里9号楼901室"))
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    # Control for the encrypted test below: a plain store keeps addresses readable.
    assert "幸福里9号楼901室".encode() in raw


def test_encrypted_store_hides_data_and_refuses_a_wrong_key(tmp_path):
    path = tmp_path / "phone.db"
    address = "幸福里3号楼302室"
    store = open_store(path, key=StoreKey.RAW(bytes=KEY))
    store.init("gw-a", "网格员甲", "G1")
    h = store.add_household(new_household(address, phone="13800138000"))
    assert store.household(h.id).address == address

    files = [p for p in tmp_path.iterdir() if p.is_file() and p.name.startswith("phone.db")]
    assert files, "the database file exists"
    raw = b"".join(p.read_bytes() for p in files)
    assert address.encode() not in raw
    assert b"13800138000" not in raw
    assert not path.read_bytes().startswith(b"SQLite format 3"), "no plain SQLite header"

    wrong = bytes(reversed(KEY))
    with pytest.raises(ApiError.WrongKey):
        open_store(path, key=StoreKey.RAW(bytes=wrong))
    with pytest.raises(ApiError.WrongKey):
        open_store(path, key=StoreKey.PASSPHRASE(passphrase="not the key"))

    # The right key still opens it, in a second handle, with the data intact.
    again = open_store(path, key=StoreKey.RAW(bytes=KEY))
    assert [s.address for s in again.list_households()] == [address]


def test_raw_key_must_be_32_bytes(tmp_path):
    with pytest.raises(ApiError.Validation) as e:
        open_store(tmp_path / "short.db", key=StoreKey.RAW(bytes=b"\x01" * 16))
    assert e.value.field == "key"


def test_calls_before_init_raise_not_initialized_and_init_is_once(tmp_path):
    store = open_store(tmp_path / "fresh.db")
    with pytest.raises(ApiError.NotInitialized):
        store.add_household(new_household("幸福里1号"))
    device = store.init("gw-a", "网格员甲", "G1")
    assert (device.worker_id, device.worker_name, device.grid) == ("gw-a", "网格员甲", "G1")
    assert store.device() == device
    with pytest.raises(ApiError.Conflict):
        store.init("gw-b", "网格员乙", "G1")


def test_reinit_moves_a_clean_store_and_refuses_while_a_change_is_unsynced(tmp_path):
    store = initialised(tmp_path / "phone.db", "gw-a", "网格员甲", "G1")
    first = store.device()
    assert store.clock_offset() is None, "never synced"
    assert store.quarantined_docs() == []
    assert store.read_only_docs() == []

    # Nothing recorded yet: reinit switches owner and grid.
    moved = store.reinit("gw-c", "网格员丙", "G2")
    assert (moved.worker_id, moved.grid) == ("gw-c", "G2")
    assert moved.actor != first.actor, "a new device actor"
    assert store.device() == moved

    # A household not yet synced: reinit raises Conflict and changes nothing.
    h = store.add_household(new_household("重置里1号楼101室"))
    assert h.grid == "G2"
    with pytest.raises(ApiError.Conflict) as e:
        store.reinit("gw-a", "网格员甲", "G1")
    assert e.value.reason
    assert store.device() == moved, "the owner is unchanged"
    assert [s.id for s in store.list_households()] == [h.id], "the household is kept"
    assert store.household(h.id) == h

    # Discarding the unsynced work is the deliberate way out.
    back = store.reinit_discarding_unsynced("gw-a", "网格员甲", "G1")
    assert (back.worker_id, back.grid) == ("gw-a", "G1")
    assert store.device() == back
    assert store.list_households() == []
    with pytest.raises(ApiError.NotFound):
        store.household(h.id)
    assert store.check().ok
    # Still validated like init.
    with pytest.raises(ApiError.Validation):
        store.reinit("gw-a", "网格员甲", "")
    assert store.device() == back


# --- households, residents, visits -------------------------------------------------


def test_households_and_residents_with_gb11643_id_numbers(tmp_path):
    store = initialised(tmp_path / "phone.db", key=StoreKey.RAW(bytes=KEY))
    lonely = store.add_household(
        new_household("幸福里1号楼101室", representative="王五", tags=["elderly_alone"])
    )
    other = store.add_household(new_household("幸福里1号楼102室", tags=[]))
    assert lonely.tags == [gw.SpecialGroup.ELDERLY_ALONE]
    assert lonely.grid == "G1"

    # The example number really is valid under GB 11643 (check digit X).
    assert gb11643_check_digit(VALID_ID[:17]) == VALID_ID[17]
    resident = store.add_resident(lonely.id, new_resident("王五", id_number=VALID_ID))
    assert resident.id_number == VALID_ID

    wrong_digit = VALID_ID[:17] + "1"
    assert gb11643_check_digit(VALID_ID[:17]) != "1"
    with pytest.raises(ApiError.Validation) as e:
        store.add_resident(other.id, new_resident("赵六", id_number=wrong_digit))
    assert e.value.field == "id_number"
    assert wrong_digit not in str(e.value), "errors carry no personal data"

    shown = store.household(lonely.id)
    assert [r.name for r in shown.residents] == ["王五"]
    assert store.household(other.id).residents == []

    found = store.search_households("", "elderly_alone")
    assert [h.id for h in found] == [lonely.id]
    found = store.search_households("王五", None)
    assert [h.id for h in found] == [lonely.id]
    assert len(store.list_households()) == 2

    with pytest.raises(ApiError.NotFound) as e:
        store.household("00000000-0000-7000-8000-000000000000")
    assert e.value.kind == "household"
    assert store.check().ok


def test_visit_with_checklist_answers_reads_back(tmp_path):
    store = initialised(tmp_path / "phone.db")
    h = store.add_household(new_household("幸福里2号楼201室", tags=["elderly_alone"]))
    visit = store.record_visit(
        new_visit(
            h.id,
            [
                gw.ChecklistAnswer(item="sanitation", outcome=gw.Outcome.OK, note=""),
                gw.ChecklistAnswer(
                    item="elderly_alone", outcome=gw.Outcome.PROBLEM, note="行动不便，需送餐"
                ),
            ],
            note="上门走访",
        )
    )
    assert visit.checklist.id == "visit-checklist"
    assert visit.worker == "gw-a"

    visits = store.list_visits(h.id)
    assert [v.id for v in visits] == [visit.id]
    read = visits[0]
    answers = {a.item: (a.outcome, a.note) for a in read.answers}
    assert answers == {
        "sanitation": (gw.Outcome.OK, ""),
        "elderly_alone": (gw.Outcome.PROBLEM, "行动不便，需送餐"),
    }
    assert read.note == "上门走访"
    assert [v.id for v in store.list_visits(None)] == [visit.id]
    assert store.report().visits_this_month == 1

    # An item that is not on the checklist is refused.
    with pytest.raises(ApiError.Validation):
        store.record_visit(
            new_visit(h.id, [gw.ChecklistAnswer(item="no_such_item", outcome=gw.Outcome.OK, note="")])
        )
    assert len(store.list_visits(h.id)) == 1


def test_malformed_phone_is_refused_and_nothing_is_stored(tmp_path):
    store = initialised(tmp_path / "phone.db")
    with pytest.raises(ApiError.Validation) as e:
        store.add_household(new_household("幸福里4号楼401室", phone="12345"))
    assert e.value.field == "phone"
    assert "12345" not in str(e.value), "errors carry no personal data"
    assert store.list_households() == []

    h = store.add_household(new_household("幸福里4号楼401室", phone="+86 138 0013 8000"))
    with pytest.raises(ApiError.Validation) as e:
        store.edit_household(h.id, phone_edit("999"))
    assert e.value.field == "phone"
    assert store.household(h.id).phone != "999"


def test_due_visits_start_on_the_registration_day(tmp_path):
    store = initialised(tmp_path / "phone.db", timezone="UTC")
    lonely = store.add_household(new_household("幸福里5号楼501室", tags=["elderly_alone"]))
    plain = store.add_household(new_household("幸福里5号楼502室"))

    # Never visited: due from the day it was registered (local date), not overdue.
    due = store.due_visits()
    assert [d.household.id for d in due] == [lonely.id, plain.id], "special groups first"
    for entry, h in zip(due, [lonely, plain]):
        assert entry.household.next_visit_due == utc_date(h.created_at).isoformat()
        assert entry.household.due_status == gw.DueStatus.DUE
        assert entry.days_overdue == 0
        assert entry.household.last_visit_at is None
    assert due[0].household.visit_interval == gw.VisitInterval.WEEKLY
    assert due[1].household.visit_interval == gw.VisitInterval.QUARTERLY

    # A visit moves the elderly household one week on: no longer due.
    visit = store.record_visit(new_visit(lonely.id, []))
    assert [d.household.id for d in store.due_visits()] == [plain.id]
    summary = next(s for s in store.list_households() if s.id == lonely.id)
    assert summary.last_visit_at == visit.started_at
    assert summary.due_status == gw.DueStatus.NOT_DUE
    visited_on = utc_date(visit.started_at)
    assert summary.next_visit_due == (visited_on + datetime.timedelta(days=7)).isoformat()


def test_reminders_list_the_due_visit_and_the_case_clock(tmp_path):
    store = initialised(tmp_path / "phone.db", timezone="UTC")
    h = store.add_household(new_household("幸福里6号楼601室"))
    case = store.open_case(new_case("环境卫生", "提醒里楼道堆物"))
    reminders = store.reminders(30)
    assert [(r.kind, r.id) for r in reminders] == [
        (gw.ReminderKind.VISIT_DUE, str(h.id)),
        (gw.ReminderKind.CASE_RESPONSE, str(case.id)),
    ]
    response = reminders[1]
    assert response.due_at == case.opened_at + 30 * 60_000
    assert response.title == "环境卫生"
    assert not response.overdue
    store.transition_case(case.id, "registered", "")
    assert [r.kind for r in store.reminders(30)] == [gw.ReminderKind.VISIT_DUE]


# --- forms ---------------------------------------------------------------------------


def test_fill_form_with_bad_answers_raises_invalid_form_per_field(tmp_path):
    store = initialised(tmp_path / "phone.db")
    h = store.add_household(new_household("幸福里6号楼601室"))
    ids = {t.id for t in store.templates()}
    assert {"visit-checklist", "hazard-inspection", "duty-sanitation"} <= ids

    bad = {"place": 3, "problems": "maybe", "handling": "nonsense"}
    with pytest.raises(ApiError.InvalidForm) as e:
        store.fill_form("duty-sanitation", h.id, "", json.dumps(bad))
    errors = {err.field: err for err in e.value.errors}
    assert set(errors) == {
        "answers.checked_at",
        "answers.place",
        "answers.area_type",
        "answers.problems",
        "answers.handling",
    }
    assert errors["answers.checked_at"].label == "巡查日期 / Date checked"
    assert errors["answers.place"].label == "地点 / Place"
    assert "required" in errors["answers.checked_at"].message
    for err in e.value.errors:
        assert err.message and err.label
        assert err.field in e.value.summary
    assert store.list_form_records(None) == []

    with pytest.raises(ApiError.Validation) as e:
        store.fill_form("duty-sanitation", h.id, "", "not json")
    assert e.value.field == "answers"

    good = {
        "checked_at": "2026-01-05",
        "place": "幸福里6号楼",
        "area_type": "residential",
        "problems": ["none"],
    }
    record = store.fill_form("duty-sanitation", h.id, "", json.dumps(good))
    assert (record.template.id, record.template.version) == ("duty-sanitation", 2)
    assert json.loads(record.answers_json) == good
    assert [r.id for r in store.list_form_records("duty-sanitation")] == [record.id]


# --- sync against the real server -----------------------------------------------------


@needs_server
def test_sync_brings_a_household_to_the_second_phone_of_the_grid(tmp_path):
    a = initialised(tmp_path / "a.db", "gw-a", "网格员甲", key=StoreKey.RAW(bytes=KEY))
    b = initialised(tmp_path / "b.db", "gw-b", "网格员乙")
    h = a.add_household(new_household("同步里1号楼101室", tags=["elderly_alone"]))
    a.add_resident(h.id, new_resident("王五", id_number=VALID_ID))

    listener = RecordingListener()
    summary = sync(a, token("A"), listener=listener)
    assert summary.docs_up > 0
    assert summary.rejected == []
    assert summary.round_trips >= 1
    assert len(listener.progress) >= 1
    assert listener.progress[-1].round_trips == summary.round_trips
    assert not any(listener.on_main_thread), "progress arrives on the sync's own thread"

    summary_b = sync(b, token("B"), listener=RecordingListener())
    assert summary_b.docs_down >= 1
    seen = b.household(h.id)
    assert seen.address == "同步里1号楼101室"
    assert [r.id_number for r in seen.residents] == [VALID_ID]
    assert h.id in [s.id for s in b.search_households("", "elderly_alone")]

    # A second sync with nothing new is cheap and harmless.
    again = sync(a, token("A"))
    assert again.docs_up == 0
    assert again.new_conflicts == 0


@needs_server
def test_a_wait_wakes_when_the_grid_changes_and_can_be_cancelled(tmp_path):
    a = initialised(tmp_path / "a.db", "gw-a", "网格员甲")
    b = initialised(tmp_path / "b.db", "gw-b", "网格员乙")
    sync(a, token("A"))
    sync(b, token("B"))
    # Nothing new for a within a second.
    assert asyncio.run(a.wait_for_changes(SERVER, token("A"), 1, None)) is False

    async def wait_then_change():
        waiting = asyncio.ensure_future(a.wait_for_changes(SERVER, token("A"), 30, None))
        await asyncio.sleep(0.3)
        b.add_household(new_household("等待里1号楼101室"))
        await b.sync(SERVER, token("B"), None, None)
        started = time.monotonic()
        changed = await waiting
        return changed, time.monotonic() - started

    changed, took = asyncio.run(wait_then_change())
    assert changed is True
    assert took < 5
    sync(a, token("A"))

    cancel = gw.SyncCancel()

    async def wait_then_cancel():
        waiting = asyncio.ensure_future(a.wait_for_changes(SERVER, token("A"), 30, cancel))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        cancel.cancel()
        try:
            await waiting
        except ApiError.Cancelled:
            return time.monotonic() - started
        raise AssertionError("the cancelled wait returned")

    assert asyncio.run(wait_then_cancel()) < 2


@needs_server
def test_another_grid_does_not_receive_this_grids_households(tmp_path):
    a = initialised(tmp_path / "a.db", "gw-a", "网格员甲")
    c = initialised(tmp_path / "c.db", "gw-c", "网格员丙", grid="G2")
    h = a.add_household(new_household("同步里9号楼901室"))
    sync(a, token("A"))
    sync(c, token("C"))
    assert c.list_households() == []
    with pytest.raises(ApiError.NotFound):
        c.household(h.id)


@needs_server
def test_concurrent_edits_of_one_field_converge_with_a_conflict(tmp_path):
    a = initialised(tmp_path / "a.db", "gw-a", "网格员甲")
    b = initialised(tmp_path / "b.db", "gw-b", "网格员乙")
    h = a.add_household(new_household("同步里2号楼201室", phone="13800138000"))
    sync(a, token("A"))
    sync(b, token("B"))
    assert b.household(h.id).phone == "13800138000"

    # Offline on both phones: the same field.
    a.edit_household(h.id, phone_edit("13900000001"))
    b.edit_household(h.id, phone_edit("13900000002"))

    sync(a, token("A"))
    b_sync = sync(b, token("B"))
    a_sync = sync(a, token("A"))
    assert b_sync.new_conflicts + a_sync.new_conflicts >= 1

    assert state(a) == state(b), "A and B converged"
    assert a.household(h.id).phone == b.household(h.id).phone
    ours = [c for c in a.conflicts() if c.household == h.id]
    assert len(ours) == 1
    assert ours[0].field == "phone"
    assert sorted(v.value for v in ours[0].values) == ["13900000001", "13900000002"]

    # Resolving on one phone clears it on both.
    a.resolve_conflict(h.id, None, "phone", "13900000002")
    sync(a, token("A"))
    sync(b, token("B"))
    for store in (a, b):
        assert [c for c in store.conflicts() if c.household == h.id] == []
        assert store.household(h.id).phone == "13900000002"
    assert state(a) == state(b)


@needs_server
def test_concurrent_hazard_severity_edits_are_a_conflict_resolved_on_both(tmp_path):
    a = initialised(tmp_path / "a.db", "gw-a", "网格员甲")
    b = initialised(tmp_path / "b.db", "gw-b", "网格员乙")
    hazard = a.report_hazard(new_hazard("消防安全", "冲突里楼道堆物", severity="medium"))
    hid = hazard.id
    sync(a, token("A"))
    sync(b, token("B"))
    assert b.hazard(hid).severity == gw.Severity.MEDIUM

    # Offline on both phones: the same field of the same hazard.
    assert a.edit_hazard(hid, hazard_edit(severity="high")).severity == gw.Severity.HIGH
    assert b.edit_hazard(hid, hazard_edit(severity="low")).severity == gw.Severity.LOW

    sync(a, token("A"))
    b_sync = sync(b, token("B"))
    a_sync = sync(a, token("A"))
    assert a_sync.rejected == [] and b_sync.rejected == []
    assert b_sync.new_conflicts == 1, "B sees A's concurrent edit"
    assert a_sync.new_conflicts == 1, "A sees B's concurrent edit"
    assert a.hazard(hid) == b.hazard(hid), "both phones show the same hazard"
    assert state(a) == state(b)

    ours = [c for c in a.conflicts() if c.record_id == hid]
    assert ours == [c for c in b.conflicts() if c.record_id == hid]
    assert len(ours) == 1
    conflict = ours[0]
    assert (conflict.record, conflict.field) == ("hazard", "severity")
    assert conflict.household is None, "the hazard names no household"
    assert conflict.resident is None
    assert sorted((v.value, v.by) for v in conflict.values) == [("high", "gw-a"), ("low", "gw-b")]

    # Only one of the conflicting values can be chosen.
    with pytest.raises(ApiError.Validation) as e:
        a.resolve_record_conflict("hazard", hid, "severity", "medium")
    assert e.value.field == "value"

    # Choosing on A reaches B and clears the conflict on both.
    a.resolve_record_conflict("hazard", hid, "severity", "low")
    assert [c for c in a.conflicts() if c.record_id == hid] == []
    sync(a, token("A"))
    sync(b, token("B"))
    for store in (a, b):
        assert [c for c in store.conflicts() if c.record_id == hid] == []
        assert store.hazard(hid).severity == gw.Severity.LOW
    with pytest.raises(ApiError.NotFound):
        b.resolve_record_conflict("hazard", hid, "severity", "low")


@needs_server
def test_concurrent_case_transitions_apply_the_first_and_list_a_workflow_conflict(tmp_path):
    a = initialised(tmp_path / "a.db", "gw-a", "网格员甲")
    b = initialised(tmp_path / "b.db", "gw-b", "网格员乙")
    cid = a.open_case(new_case("环境卫生", "流程里楼道堆物")).id
    sync(a, token("A"))
    sync(b, token("B"))
    assert b.case(cid).status == gw.CaseState.COLLECTED

    # Offline on both phones, A first: A registers the case, then B escalates it.
    a.transition_case(cid, "registered", "已受理")
    time.sleep(0.2)
    b.transition_case(cid, "escalated", "上报社区")

    sync(a, token("A"))
    sync(b, token("B"))
    sync(a, token("A"))
    for store in (a, b):
        case = store.case(cid)
        assert case.status == gw.CaseState.REGISTERED, "the first transition by time applies"
        assert [t.to for t in case.transitions] == ["registered", "escalated"], "both are kept"
    ours = [c for c in a.conflicts() if c.record_id == cid]
    assert ours == [c for c in b.conflicts() if c.record_id == cid]
    assert len(ours) == 1
    assert (ours[0].record, ours[0].field) == ("case", "workflow")
    assert [(v.value, v.by) for v in ours[0].values] == [("collected→escalated", "gw-b")]

    # Not resolved by choosing a value, but by a later transition that applies.
    with pytest.raises(ApiError.Validation) as e:
        a.resolve_record_conflict("case", cid, "workflow", "collected→escalated")
    assert e.value.field == "field"
    a.transition_case(cid, "handling", "即接即办")
    sync(a, token("A"))
    sync(b, token("B"))
    for store in (a, b):
        assert store.case(cid).status == gw.CaseState.HANDLING
        assert [c for c in store.conflicts() if c.record_id == cid] == []


@needs_server
def test_a_token_of_another_worker_raises_wrong_account_and_nothing_moves(tmp_path):
    a = initialised(tmp_path / "a.db", "gw-a", "网格员甲")
    b = initialised(tmp_path / "b.db", "gw-b", "网格员乙")
    # The server holds a household of G1 that A could receive.
    theirs = b.add_household(new_household("账号里1号楼101室"))
    sync(b, token("B"))
    ours = a.add_household(new_household("账号里1号楼102室"))

    listener = RecordingListener()
    with pytest.raises(ApiError.WrongAccount) as e:
        sync(a, token("B"), listener=listener)
    assert "gw-a" in e.value.reason and "gw-b" in e.value.reason
    assert listener.progress == [], "no round trip was applied"
    assert [s.id for s in a.list_households()] == [ours.id], "nothing was received"
    with pytest.raises(ApiError.NotFound):
        a.household(theirs.id)
    assert a.clock_offset() is None, "no answer of the server was applied"
    sync(b, token("B"))
    with pytest.raises(ApiError.NotFound):
        b.household(ours.id)

    # With its own token the same phone sends its household and receives B's.
    assert sync(a, token("A")).docs_up > 0
    assert a.household(theirs.id).address == "账号里1号楼101室"
    sync(b, token("B"))
    assert b.household(ours.id).address == "账号里1号楼102室"


@needs_server
def test_a_phone_initialised_for_the_wrong_grid_starts_over_with_reinit(tmp_path):
    # gw-a works in G1, but the phone was set up for G2 and recorded a household offline.
    phone = initialised(tmp_path / "phone.db", "gw-a", "网格员甲", grid="G2")
    offline = phone.add_household(new_household("设置里1号楼101室"))
    with pytest.raises(ApiError.WrongAccount):
        sync(phone, token("A"))
    assert phone.device().grid == "G2"

    # reinit refuses while the household is unsynced, and changes nothing.
    with pytest.raises(ApiError.Conflict):
        phone.reinit("gw-a", "网格员甲", "G1")
    assert phone.device().grid == "G2"
    assert [s.id for s in phone.list_households()] == [offline.id]

    # Discarding it deliberately, the phone syncs as gw-a of G1.
    assert phone.reinit_discarding_unsynced("gw-a", "网格员甲", "G1").grid == "G1"
    with pytest.raises(ApiError.NotFound):
        phone.household(offline.id)
    first = sync(phone, token("A"))
    assert first.rejected == [] and first.quarantined == [] and first.read_only == []
    offset = phone.clock_offset()
    assert offset is not None, "the offset is learnt at the sync"
    assert abs(offset) < 60_000, "same host, same clock"

    # Synced, the store is clean: reinit (keeping nothing unsynced) moves it to G2.
    h = phone.add_household(new_household("设置里1号楼102室"))
    sync(phone, token("A"))
    moved = phone.reinit("gw-c", "网格员丙", "G2")
    assert (moved.worker_id, moved.grid) == ("gw-c", "G2")
    assert phone.device() == moved
    assert phone.clock_offset() is None, "the offset learnt before is forgotten"
    assert phone.list_households() == []
    assert sync(phone, token("C")).rejected == []
    with pytest.raises(ApiError.NotFound):
        phone.household(h.id)
    assert phone.check().ok


@needs_server
def test_a_bad_token_raises_auth(tmp_path):
    a = initialised(tmp_path / "a.db")
    a.add_household(new_household("同步里3号楼301室"))
    with pytest.raises(ApiError.Auth):
        sync(a, "not-a-token")
    # Nothing was lost: the household is still waiting to go up.
    assert sync(a, token("A")).docs_up > 0


@needs_server
def test_a_sync_cancelled_before_the_call_raises_cancelled(tmp_path):
    a = initialised(tmp_path / "a.db")
    h = a.add_household(new_household("同步里4号楼401室"))
    cancel = gw.SyncCancel()
    assert not cancel.is_cancelled()
    cancel.cancel()
    assert cancel.is_cancelled()
    with pytest.raises(ApiError.Cancelled):
        sync(a, token("A"), listener=RecordingListener(), cancel=cancel)
    assert a.household(h.id).address == "同步里4号楼401室"
    # A fresh handle syncs normally afterwards.
    assert sync(a, token("A"), cancel=gw.SyncCancel()).docs_up > 0


def test_network_failure_raises_network(tmp_path):
    a = initialised(tmp_path / "a.db")
    with pytest.raises(ApiError.Network):
        # Port 9 (discard) on localhost: nothing listens there in CI.
        asyncio.run(a.sync("http://127.0.0.1:9", "token", None, None))


@needs_server
def test_a_template_published_by_staff_reaches_the_phone(tmp_path):
    a = initialised(tmp_path / "a.db")
    sync(a, token("A"))
    current = max(t.version for t in a.templates() if t.id == "duty-sanitation")

    template = json.loads(a.template_json("duty-sanitation", None))
    version = current + 1
    template["version"] = version
    template["fields"].append(
        {
            "id": "bags",
            "label_zh": "清运袋数",
            "label_en": "Bags removed",
            "type": "integer",
            "required": True,
            "relevant": "${area_type} = 'market'",
        }
    )
    path = tmp_path / "duty-sanitation.json"
    path.write_text(json.dumps(template, ensure_ascii=False), encoding="utf-8")
    admin = shlex.split(os.environ["GRIDWORK_TEST_ADMIN"])
    done = subprocess.run(
        admin + ["template", "publish", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr

    summary = sync(a, token("A"))
    assert summary.docs_down >= 1
    versions = {t.version: t for t in a.templates() if t.id == "duty-sanitation"}
    assert versions[version].newest
    assert versions[version].source == "published"
    assert not versions[1].newest
    assert json.loads(a.template_json("duty-sanitation", None))["version"] == version

    h = a.add_household(new_household("同步里5号楼501室"))
    answers = {
        "checked_at": "2026-01-05",
        "place": "幸福里",
        "area_type": "market",
        "problems": ["none"],
    }
    with pytest.raises(ApiError.InvalidForm) as e:
        a.fill_form("duty-sanitation", h.id, "", json.dumps(answers))
    assert [err.field for err in e.value.errors] == ["answers.bags"]
    assert e.value.errors[0].label == "清运袋数 / Bags removed"

    record = a.fill_form("duty-sanitation", h.id, "", json.dumps({**answers, "bags": 3}))
    assert record.template.version == version
    # Not relevant away from a market: then it must be left out.
    quiet = {**answers, "area_type": "street"}
    assert a.fill_form("duty-sanitation", h.id, "", json.dumps(quiet)).template.version == version


def tiny_png(width, height, seed=1):
    """A PNG made with the standard library (no imaging package needed)."""
    import struct
    import zlib

    rows = b"".join(
        b"\x00" + bytes(((x * 7 + y * 3 + seed * 11) % 256) for x in range(width * 3))
        for y in range(height)
    )

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_photos_go_in_as_bytes_and_come_back_as_jpeg(tmp_path):
    store = initialised(tmp_path / "a.db")
    photo = store.attach_photo(tiny_png(2000, 1000), False)
    assert len(photo.id) == 64 and photo.mime == "image/jpeg"
    assert photo.state == gw.UploadState.PENDING and photo.on_phone and photo.has_thumbnail
    stored = store.photo_bytes(photo.id)
    assert stored[:3] == b"\xff\xd8\xff" and len(stored) == photo.size
    assert store.photo_thumbnail(photo.id)[:2] == b"\xff\xd8"
    # The same photo twice is stored once.
    assert store.attach_photo(tiny_png(2000, 1000), False).id == photo.id

    hazard = store.report_hazard(
        gw.NewHazard(
            category="消防安全", severity="", location=None, place="", description="楼道堆物",
            household=None, deadline=None, photos=[photo.id],
        )
    )
    assert hazard.photos == [photo.id]
    assert store.upload_queue() == gw.UploadQueue(pending=1, pending_bytes=photo.size)
    # A case has photos of its own (photos defaults to none).
    assert store.open_case(new_case("环境卫生", "无照片")).photos == []
    case = store.open_case(
        gw.NewCase(
            channel="", category="环境卫生", description="楼道堆物", urgency="",
            household=None, resident=None, opened_at=None, photos=[photo.id],
        )
    )
    assert case.photos == [photo.id] and store.case(case.id).photos == [photo.id]
    with pytest.raises(ApiError.Validation) as e:
        store.open_case(
            gw.NewCase(
                channel="", category="环境卫生", description="未添加的照片", urgency="",
                household=None, resident=None, opened_at=None, photos=["0" * 64],
            )
        )
    assert e.value.field == "photos"
    # A photo not attached on this phone cannot be named.
    with pytest.raises(ApiError.Validation) as e:
        store.transition_hazard_with_photos(hazard.id, "rectifying", "", ["0" * 64])
    assert e.value.field == "photos"
    # Bytes that are not a photo are refused with a typed error.
    with pytest.raises(ApiError.Validation):
        store.attach_photo(b"not a photo", False)
    # Nothing uploaded yet: the budget drops nothing.
    assert store.trim_photos(0).dropped == 0
    assert store.photo_bytes(photo.id) == stored


@needs_server
def test_a_photo_reaches_the_second_phone_through_the_server(tmp_path):
    a = initialised(tmp_path / "a.db", "gw-a", "网格员甲")
    b = initialised(tmp_path / "b.db", "gw-b", "网格员乙")
    photo = a.attach_photo(tiny_png(640, 480, seed=5), False)
    hazard = a.report_hazard(
        gw.NewHazard(
            category="消防安全", severity="", location=None, place="", description="照片同步",
            household=None, deadline=None, photos=[photo.id],
        )
    )
    sync(a, token("A"))
    summary = asyncio.run(a.upload_photos(SERVER, token("A")))
    assert (summary.uploaded, summary.pending, summary.failed) == (1, 0, [])
    assert a.attachment(photo.id).state == gw.UploadState.UPLOADED
    # Uploaded: the budget may now drop the original, keeping the thumbnail.
    assert a.trim_photos(0).dropped == 1
    assert a.photo_bytes(photo.id) is None and a.photo_thumbnail(photo.id) is not None

    sync(b, token("B"))
    assert b.hazard(hazard.id).photos == [photo.id]
    fetched = asyncio.run(b.fetch_photo(SERVER, token("B"), photo.id))
    assert fetched[:3] == b"\xff\xd8\xff" and len(fetched) == photo.size
    assert b.photo_bytes(photo.id) == fetched
