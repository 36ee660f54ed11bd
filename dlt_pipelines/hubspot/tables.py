"""The HubSpot objects we load, with the API's property names and types (the tables' contracts).

Each CRM object is one table: the record's `id`, `createdAt`, `updatedAt`, `archived` and
`archivedAt`, then one column per property, named as HubSpot names it. The properties are chosen
explicitly (HubSpot sends only the properties a request names); `sources.hubspot.properties.<object>`
adds more, which arrive as new columns (the `evolve` contract). HubSpot sends every property value as
text; the contract types below are what the text must load as ("twelve" for an amount is quarantined).
Ids and references to other records (owners, companies) stay text, as the API's ids are.
"""

from __future__ import annotations

from dlt_pipelines.contracts import FieldType, TableSpec

_RECORD: dict[str, FieldType] = {
    "id": "str",
    "createdAt": "timestamp",
    "updatedAt": "timestamp",
    "archived": "bool",
    "archivedAt": "timestamp",
}

CURSOR = "updatedAt"
# The property HubSpot's search filters changes on: contacts have their own name for it.
MODIFIED_PROPERTY = {"companies": "hs_lastmodifieddate", "contacts": "lastmodifieddate"}


def modified_property(name: str) -> str:
    return MODIFIED_PROPERTY.get(name, "hs_lastmodifieddate")


def _spec(name: str, properties: dict[str, FieldType], non_negative: tuple[str, ...] = ()) -> TableSpec:
    return TableSpec(
        source="hubspot",
        name=name,
        table=name,
        primary_key="id",
        cursor=CURSOR,
        fields={**_RECORD, "hs_object_id": "str", **properties},
        contract="evolve",  # portal admins add properties all the time; they should simply arrive
        non_negative=non_negative,
        optional=("archivedAt",),
        extra={"properties": ["hs_object_id", *properties]},
    )


COMPANIES = _spec(
    "companies",
    {
        "name": "str",
        "domain": "str",
        "website": "str",
        "industry": "str",
        "numberofemployees": "int",
        "annualrevenue": "float",
        "country": "str",
        "lifecyclestage": "str",
        "hubspot_owner_id": "str",
        "createdate": "timestamp",
        "hs_lastmodifieddate": "timestamp",
        "customer_success_manager": "str",
        "segment": "str",
        "product_workspace_id": "str",
        "customer_since": "date",
        "contract_end_date": "date",
        "arr": "float",
        "copilot_health_score": "float",
        "copilot_health_tier": "str",
        "copilot_churn_risk": "float",
        "copilot_risk_drivers": "str",
        "copilot_expansion_score": "float",
        "copilot_scored_at": "timestamp",
    },
    non_negative=("numberofemployees", "annualrevenue", "arr"),
)

CONTACTS = _spec(
    "contacts",
    {
        "firstname": "str",
        "lastname": "str",
        "email": "str",
        "jobtitle": "str",
        "associatedcompanyid": "str",
        "createdate": "timestamp",
        "lastmodifieddate": "timestamp",
        "is_champion": "bool",
        "left_company": "bool",
    },
)

DEALS = _spec(
    "deals",
    {
        "dealname": "str",
        "dealtype": "str",
        "pipeline": "str",
        "dealstage": "str",
        "amount": "float",
        "closedate": "timestamp",
        "hubspot_owner_id": "str",
        "hs_is_closed": "bool",
        "hs_is_closed_won": "bool",
        "createdate": "timestamp",
        "hs_lastmodifieddate": "timestamp",
    },
    non_negative=("amount",),
)

TASKS = _spec(
    "tasks",
    {
        "hs_task_subject": "str",
        "hs_task_body": "str",
        "hs_task_status": "str",
        "hs_task_priority": "str",
        "hs_timestamp": "timestamp",
        "hubspot_owner_id": "str",
        "hs_createdate": "timestamp",
        "hs_lastmodifieddate": "timestamp",
        "copilot_alert_id": "str",
        "copilot_outcome": "str",
    },
)

OWNERS = TableSpec(
    source="hubspot",
    name="owners",
    table="owners",
    primary_key="id",
    cursor="updatedAt",
    fields={
        "id": "str",
        "email": "str",
        "type": "str",
        "firstName": "str",
        "lastName": "str",
        "userId": "int",
        "userIdIncludingInactive": "int",
        "createdAt": "timestamp",
        "updatedAt": "timestamp",
        "archived": "bool",
        "teams": "json",
    },
    contract="evolve",
    json_columns=("teams",),
    optional=("userIdIncludingInactive", "teams"),
)

# One row per associated pair and association type; a record's rows are replaced whenever it changes.
ASSOCIATIONS = TableSpec(
    source="hubspot",
    name="associations",
    table="associations",
    primary_key="association_key",
    cursor=None,
    fields={
        "association_key": "str",
        "from_key": "str",
        "from_type": "str",
        "from_id": "str",
        "to_type": "str",
        "to_id": "str",
        "type_id": "int",
        "category": "str",
        "label": "str",
    },
    contract="evolve",
)

OBJECTS: dict[str, TableSpec] = {s.name: s for s in (COMPANIES, CONTACTS, DEALS, TASKS)}
TABLES: dict[str, TableSpec] = {**OBJECTS, "owners": OWNERS, "associations": ASSOCIATIONS}
# The associations loaded: each record's companies (from the side that changes with the record).
ASSOCIATED: dict[str, str] = {"contacts": "companies", "deals": "companies", "tasks": "companies"}
