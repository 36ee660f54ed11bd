"""The sandbox's credentials: one place the emulators check and every other tool reads.

They are fixed so a pipeline configured once keeps working after a restart or a regenerated world;
`serve` also writes them (with the base URLs) to `<data_dir>/credentials.json`.
"""

from __future__ import annotations

import json
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
    }


def write_credentials(data_dir: Path, http_base: str | None, https_base: str | None) -> Path:
    path = data_dir / CREDENTIALS_FILE
    path.write_text(json.dumps(as_document(http_base, https_base), indent=2) + "\n")
    return path
