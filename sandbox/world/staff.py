"""The vendor's own people: Salesforce users (CSMs, Account Executives, an integration user) and
Zendesk agents."""

from __future__ import annotations

import math

from sandbox.schema import SF_USER, ZD_USERS
from sandbox.world import names, vocab
from sandbox.world.calendar import to_datetime
from sandbox.world.context import Day
from sandbox.world.rng import Stream
from sandbox.world.sizes import Size
from sandbox.world.state import ROLE_AE, ROLE_CSM, ROLE_INTEGRATION, ROLE_MANAGER

VENDOR_DOMAIN = "copilot.sandbox"
INTEGRATION_USERNAME = "integration@copilot.sandbox"


def hire(d: Day, size: Size) -> None:
    rng = d.rng(Stream.INIT, 1)
    n_csm = math.ceil(size.initial_accounts / size.csm_book)
    n_ae = max(3, math.ceil(size.initial_accounts / 300))
    roles = [ROLE_MANAGER] + [ROLE_CSM] * n_csm + [ROLE_AE] * n_ae + [ROLE_INTEGRATION]
    ids = d.store.new_ids(SF_USER, len(roles))
    d.world.staff.append(len(roles), sf_id=ids, role=roles)
    created = to_datetime(d.t0 - 400 * 86400)
    first = rng.integers(0, len(names.FIRST), len(roles))
    last = rng.integers(0, len(names.LAST), len(roles))
    records = []
    for i, (sf_id, role) in enumerate(zip(ids, roles, strict=True)):
        if role == ROLE_INTEGRATION:
            records.append(
                {
                    "Id": sf_id,
                    "Username": INTEGRATION_USERNAME,
                    "FirstName": "Integration",
                    "LastName": "User",
                    "Email": INTEGRATION_USERNAME,
                    "Title": "Integration",
                    "Department": "IT",
                    "IsActive": True,
                    "CreatedDate": created,
                }
            )
            continue
        email = names.email(int(first[i]), int(last[i]), VENDOR_DOMAIN)
        title, dept = {
            ROLE_MANAGER: ("VP Customer Success", "Customer Success"),
            ROLE_CSM: (vocab.CSM_TITLE, "Customer Success"),
            ROLE_AE: (vocab.AE_TITLE, "Sales"),
        }[role]
        records.append(
            {
                "Id": sf_id,
                "Username": email,
                "FirstName": str(names.FIRST[first[i]]),
                "LastName": str(names.LAST[last[i]]),
                "Email": email,
                "Title": title,
                "Department": dept,
                "IsActive": True,
                "ManagerId": ids[0] if role == ROLE_CSM else None,
                "CreatedDate": created,
            }
        )
    d.write(SF_USER, records, d.work_hours(rng, len(records)))

    n_agents = size.support_agents
    agent_ids = d.store.new_ids(ZD_USERS, n_agents)
    d.world.agents.append(n_agents, id=agent_ids)
    af = rng.integers(0, len(names.FIRST), n_agents)
    al = rng.integers(0, len(names.LAST), n_agents)
    zd_created = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    d.write(
        ZD_USERS,
        [
            {
                "id": agent_ids[i],
                "name": f"{names.FIRST[af[i]]} {names.LAST[al[i]]}",
                "email": f"support.{names.email(int(af[i]), int(al[i]), VENDOR_DOMAIN)}",
                "role": "agent",
                "organization_id": None,
                "active": True,
                "created_at": zd_created,
            }
            for i in range(n_agents)
        ],
        d.work_hours(rng, n_agents),
    )
