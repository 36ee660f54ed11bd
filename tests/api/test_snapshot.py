"""The serving snapshot: published atomically by each run, picked up by the API without a restart;
reads go on while a run holds the warehouse and while a new snapshot is published."""

from __future__ import annotations

import threading

import duckdb

from api.serving import SnapshotHolder
from api.snapshot import publish, read_pointer
from core.warehouse import open_for_writing
from tests.api.conftest import STAFF, ApiWorld, People


def test_reads_go_on_while_a_run_writes_and_publishes(api: ApiWorld, people: People, token, monkeypatch) -> None:
    monkeypatch.setattr("api.serving.CHECK_EVERY_SECONDS", 0.0)
    headers = token(STAFF["cs_ops"])
    first = api.client.get("/v1/portfolio/summary", headers=headers).json()["as_of"]
    account_id = sorted(people.owned[people.csm_id])[0]
    statuses: list[int] = []
    names: set[str] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            resp = api.client.get(f"/v1/accounts/{account_id}", headers=headers)
            statuses.append(resp.status_code)
            if resp.status_code == 200:
                names.add(resp.json()["account"]["account_name"])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        # A run holds the warehouse for writing (the lock and a read-write connection) and changes a
        # mart; the API keeps answering from the snapshot it has.
        with open_for_writing(api.warehouse) as con:
            con.execute(
                "UPDATE marts.customer_360 SET account_name = 'Renamed by the run' WHERE account_id = ?", [account_id]
            )
            during = api.client.get(f"/v1/accounts/{account_id}", headers=headers)
            assert during.status_code == 200 and during.json()["account"]["account_name"] != "Renamed by the run"
            published = publish(con, api.serving, run_id="run-2")
        # The API swaps in the new snapshot by itself, without a restart.
        for _ in range(500):
            body = api.client.get(f"/v1/accounts/{account_id}", headers=headers).json()
            if body["as_of"]["run_id"] == "run-2":
                break
            threading.Event().wait(0.01)
    finally:
        stop.set()
        reader.join()
    assert body["as_of"]["run_id"] == "run-2" and body["account"]["account_name"] == "Renamed by the run"
    assert body["as_of"]["published_at"] != first["published_at"]
    assert set(statuses) == {200}
    assert read_pointer(api.serving)["file"].endswith(published.path.name)


def test_a_snapshot_is_complete_or_absent(api: ApiWorld, tmp_path) -> None:
    """The pointer only ever names a finished file; a publish that fails leaves the last one served."""
    holder = SnapshotHolder(api.serving)
    before = holder.load_now()
    with duckdb.connect(str(api.warehouse)) as con:
        con.execute("DROP TABLE marts.health_scores")
        try:
            publish(con, api.serving)
        except duckdb.Error:
            pass
        else:
            raise AssertionError("publish without the health scores should fail")
    assert read_pointer(api.serving)["file"] == before.file
    assert SnapshotHolder(api.serving).load_now().file == before.file
    assert not list((api.serving / "snapshots").glob("serving-*.duckdb"))[1:]  # no second finished file
