"""Which CRM the sandbox company runs its customers in: Salesforce (the default) or HubSpot.

The world keeps one CRM, stored in Salesforce's shape; the HubSpot emulator serves the same records
as HubSpot companies, contacts, deals, tasks and owners (their ids are the numbers inside the
Salesforce ids). What differs in a HubSpot shop is what the company's other systems keep of a CRM
account: its Stripe customers carry `metadata.hubspot_company_id` and its Zendesk organizations
the company id as `external_id`, where a Salesforce shop keeps the Account Id.
"""

from __future__ import annotations

from sandbox.store import Store

CRMS = ("salesforce", "hubspot")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# The Stripe customer metadata key holding the CRM account's id, per CRM.
STRIPE_METADATA_KEY = {"salesforce": "salesforce_account_id", "hubspot": "hubspot_company_id"}


def world_crm(store: Store) -> str:
    """The world's CRM, as `generate --crm` set it (worlds made before it are Salesforce shops)."""
    return (store.meta("world") or {}).get("crm", "salesforce")


def hubspot_id(sf_id: str) -> str:
    """A Salesforce id's HubSpot id: the number in its 10 base-62 digits (as the emulator serves it)."""
    n = 0
    for ch in sf_id[5:15]:
        n = n * 62 + _BASE62.index(ch)
    return str(n)


def account_ref(crm: str, sf_id: str) -> str:
    """The id another system keeps for a CRM account in a `crm` shop."""
    return hubspot_id(sf_id) if crm == "hubspot" else sf_id


def stripe_metadata(crm: str, sf_id: str) -> dict[str, str]:
    """A linked Stripe customer's metadata."""
    return {STRIPE_METADATA_KEY[crm]: account_ref(crm, sf_id)}
