"""The sandbox's credentials: one place the emulators check and every other tool reads.

They are fixed so a pipeline configured once keeps working after a restart or a regenerated world;
`serve` also writes them (with the base URLs) to `<data_dir>/credentials.json`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sandbox.store import salesforce_id

SALESFORCE = {
    "client_id": "copilot-sandbox",
    "client_secret": "sandbox-secret",
    "username": "integration@copilot.sandbox",
    "password": "sandbox-password",
    "security_token": "SANDBOXTOKEN",
    # The integration user is number 0 of the User id sequence, so it never collides with the world's users.
    "org_id": salesforce_id("00D", 0),
    "user_id": salesforce_id("005", 0),
}

ZENDESK = {
    "subdomain": "copilot-sandbox",
    "email": "copilot@sandbox.example",
    "api_token": "sandbox-zendesk-token",
    "oauth_token": "sandbox-zendesk-oauth",
}

STRIPE = {"secret_key": "sk_test_sandbox"}

# A private app's access token (HubSpot sends it as a bearer token) and the portal (account) id.
HUBSPOT = {"access_token": "pat-na1-00000000-0000-4000-8000-5a4db0c0b10t", "portal_id": 24000001}

SLACK_WEBHOOK_PATH = "/slack/hooks/T0SANDBOX/B0ALERTS/sandboxhook"

SLACK = {
    "bot_token": "xoxb-sandbox",
    "team_id": "T0SANDBOX",
    "team": "Copilot Sandbox",
    "bot_user_id": "U0COPILOT",
    "bot_id": "B0COPILOT",
    # Channels the bot is a member of, by name -> id; posting elsewhere gives channel_not_found.
    "channels": {
        "cs-alerts": "C0CSALERTS",
        "cs-escalations": "C0ESCALATE",
        "cs-leadership": "C0LEADERS",
        "data-quality": "C0DATAQUAL",
        "general": "C0GENERAL",
    },
    "webhooks": {SLACK_WEBHOOK_PATH: "cs-alerts"},
}

CREDENTIALS_FILE = "credentials.json"


def as_document(http_base: str | None, https_base: str | None) -> dict[str, Any]:
    """Everything a client needs to reach the emulators, in the shape written to credentials.json."""
    base = http_base or https_base
    return {
        "http_base_url": http_base,
        "https_base_url": https_base,
        "salesforce": {
            **SALESFORCE,
            "token_url": f"{https_base or base}/services/oauth2/token",
            "instance_url": https_base or base,
        },
        "zendesk": {**ZENDESK, "base_url": f"{base}/api/v2"},
        "stripe": {**STRIPE, "api_base": base},
        "hubspot": {**HUBSPOT, "base_url": base},
        "slack": {
            **SLACK,
            "api_base_url": f"{base}/api/",
            "webhook_urls": [f"{base}{path}" for path in SLACK["webhooks"]],
        },
        "teams": teams_urls(base),
    }


def write_private(path: Path, data: bytes) -> None:
    """Write `path` readable by its owner only, from the moment it exists (0600; an existing file is
    replaced by a new one, never widened or left with its old mode)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def write_credentials(data_dir: Path, http_base: str | None, https_base: str | None) -> Path:
    path = data_dir / CREDENTIALS_FILE
    write_private(path, (json.dumps(as_document(http_base, https_base), indent=2) + "\n").encode())
    return path


# Microsoft Teams: an incoming webhook (Office 365 connector) per channel and Power Automate
# Workflows flows ("post to a channel when a webhook request is received"), each URL signed.
TEAMS_TENANT = "0c0b0a00-5a4d-4b0c-9000-00000000c0de"
TEAMS = {
    "webhooks": {
        f"9f1e0000-0000-4000-8000-00000000a1e7@{TEAMS_TENANT}/IncomingWebhook/5a1e27c0ffee/0e0e0e0e-1111": "CS Alerts",
        f"9f1e0000-0000-4000-8000-00000000a1e7@{TEAMS_TENANT}/IncomingWebhook/e5ca1a7e0000/0e0e0e0e-2222": (
            "CS Escalations"
        ),
    },
    # Workflow id -> (channel, the `sig` its URL carries). The flows check `copilot_key` against the
    # keys they already posted (see reverse_etl/README.md) and validate their trigger's schema.
    "workflows": {
        "a1e27000000000000000000000000001": ("CS Alerts", "sandbox-sig-alerts"),
        "a1e27000000000000000000000000002": ("CS Enterprise", "sandbox-sig-enterprise"),
        "a1e27000000000000000000000000003": ("Data Quality", "sandbox-sig-dataquality"),
    },
}


def teams_urls(base: str) -> dict[str, dict[str, str]]:
    """The URLs that post to each channel: {"webhooks": {channel: url}, "workflows": {channel: url}}."""
    return {
        "webhooks": {channel: f"{base}/teams/webhookb2/{path}" for path, channel in TEAMS["webhooks"].items()},
        "workflows": {
            channel: f"{base}/teams/workflows/{workflow}/triggers/manual/paths/invoke"
            f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
            for workflow, (channel, sig) in TEAMS["workflows"].items()
        },
    }
