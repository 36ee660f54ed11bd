"""The account page and the book are answered from cached JSON, most of the time without FastAPI's
routing (a token verified before): the answers stay those of the full path, follow a write at once,
and follow a change of role in the access file."""

from __future__ import annotations

import os

from api.access import MASK
from tests.api.conftest import ApiWorld, People, make_api
from tests.api.test_feedback import alert_of


def test_cached_reads_follow_writes_and_roles(api: ApiWorld, people: People, token) -> None:
    headers = token(people.csm)
    alert_id, account_id, _ = alert_of(api, people.csm_id)
    page = f"/v1/accounts/{account_id}"
    first, again = api.client.get(page, headers=headers), api.client.get(page, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["content-type"] == "application/json"
    assert again.content == first.content
    assert {a["alert_id"]: a["status"] for a in again.json()["live_alerts"]}[alert_id] in ("open", "sent")
    book = f"/v1/csms/{people.csm_id}/book"
    assert api.client.get(book, headers=headers).content == api.client.get(book, headers=headers).content
    other_book = f"/v1/csms/{people.other_csm_id}/book"
    assert api.client.get(other_book, headers=headers).status_code == 404

    # The CSM's own write shows on the next read of the page.
    assert api.client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=headers).status_code == 200
    after = api.client.get(page, headers=headers).json()
    assert {a["alert_id"]: a["status"] for a in after["live_alerts"]}[alert_id] == "acknowledged"
    statuses = {a["account_id"]: a["live_alerts"] for a in api.client.get(book, headers=headers).json()["accounts"]}
    assert statuses[account_id] >= 1

    # An admin makes the CSM an analyst: the same token now sees the whole portfolio, masked.
    access = api.app.state.directory.access_file
    text = access.read_text().replace("[users]\n", f'[users]\n"{people.csm}" = "analyst"\n', 1)
    access.write_text(text)
    stat = access.stat()
    os.utime(access, (stat.st_atime, stat.st_mtime + 10))
    assert api.client.get(other_book, headers=headers).status_code == 200
    masked = api.client.get(page, headers=headers).json()
    assert all(c["name"] in (MASK, None) and (c["email"] or MASK).startswith(MASK) for c in masked["contacts"])
    assert masked["account"]["champion_email"] is None or masked["account"]["champion_email"].startswith(MASK)
    assert after["contacts"] == [] or masked["contacts"] != after["contacts"]


def test_cached_reads_count_against_the_rate_limit(api_warehouse, signing_key, people: People, token, tmp_path) -> None:  # noqa: ANN001
    limited = make_api(tmp_path, api_warehouse, signing_key, people, rate=(60, 4))
    headers = token(people.csm)
    page = f"/v1/accounts/{sorted(people.owned[people.csm_id])[0]}"
    statuses = [limited.client.get(page, headers=headers).status_code for _ in range(5)]
    assert statuses == [200] * 4 + [429]
    limited.client.close()
    limited.store.dispose()
