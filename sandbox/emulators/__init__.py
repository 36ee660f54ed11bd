"""HTTP emulators of Salesforce, Zendesk, Stripe and Slack over the sandbox world (see sandbox/README.md)."""

from sandbox.emulators.app import create_app
from sandbox.emulators.server import serve

__all__ = ["create_app", "serve"]
