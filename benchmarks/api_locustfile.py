"""The Copilot API's load: CSMs opening their book and then accounts from it (locust, headless).

Read by `benchmarks/api.py`, which passes the tokens and books in COPILOT_BENCH_API_USERS (a JSON file:
a list of {"token", "user_id", "accounts"}). Each simulated client is one CSM, who asks at a steady
pace (constant throughput) so the figure is latency under a known load, not a queue's length.
"""

import json
import os
import random

from locust import FastHttpUser, constant_throughput, task

USERS = json.loads(open(os.environ["COPILOT_BENCH_API_USERS"]).read())  # noqa: SIM115
PER_USER_PER_SECOND = float(os.environ.get("COPILOT_BENCH_API_RATE", "8"))


class Csm(FastHttpUser):
    wait_time = constant_throughput(PER_USER_PER_SECOND)

    def on_start(self) -> None:
        me = random.choice(USERS)
        self.auth = {"Authorization": f"Bearer {me['token']}"}
        self.user_id = me["user_id"]
        self.accounts = me["accounts"]

    @task(3)
    def account_page(self) -> None:
        self.client.get(f"/v1/accounts/{random.choice(self.accounts)}", name="/v1/accounts/{id}", headers=self.auth)

    @task(1)
    def book(self) -> None:
        self.client.get(f"/v1/csms/{self.user_id}/book", name="/v1/csms/{id}/book", headers=self.auth)
