"""The Zendesk objects we load, with the API's field names and types (the tables' contracts)."""

from __future__ import annotations

from dlt_pipelines.contracts import TableSpec

ORGANIZATIONS = TableSpec(
    source="zendesk",
    name="organizations",
    table="organizations",
    primary_key="id",
    cursor="updated_at",
    fields={
        "id": "int",
        "name": "str",
        "domain_names": "json",
        "external_id": "str",
        "tags": "json",
        "organization_fields": "json",
        "created_at": "timestamp",
        "updated_at": "timestamp",
    },
    # Admins add organization fields; they arrive as organization_fields__<name> columns.
    contract="evolve",
)

USERS = TableSpec(
    source="zendesk",
    name="users",
    table="users",
    primary_key="id",
    cursor="updated_at",
    fields={
        "id": "int",
        "name": "str",
        "email": "str",
        "role": "str",
        "organization_id": "int",
        "active": "bool",
        "created_at": "timestamp",
        "updated_at": "timestamp",
    },
    contract="evolve",
)

TICKETS = TableSpec(
    source="zendesk",
    name="tickets",
    table="tickets",
    primary_key="id",
    cursor="updated_at",
    fields={
        "id": "int",
        "subject": "str",
        "description": "str",
        "type": "str",
        "priority": "str",
        "status": "str",
        "requester_id": "int",
        "submitter_id": "int",
        "assignee_id": "int",
        "organization_id": "int",
        "tags": "json",
        "satisfaction_rating": "json",
        "created_at": "timestamp",
        "updated_at": "timestamp",
    },
    contract="evolve",
    # Kept whole: usually null here; the ratings themselves load into satisfaction_ratings.
    json_columns=("satisfaction_rating",),
)

TICKET_METRICS = TableSpec(
    source="zendesk",
    name="ticket_metrics",
    table="ticket_metrics",
    primary_key="id",
    cursor="updated_at",
    fields={
        "id": "int",
        "ticket_id": "int",
        "reopens": "int",
        "replies": "int",
        "reply_time_in_minutes": "json",
        "full_resolution_time_in_minutes": "json",
        "solved_at": "timestamp",
        "created_at": "timestamp",
        "updated_at": "timestamp",
    },
    contract="evolve",
    non_negative=("reopens", "replies"),
    nested={
        "reply_time_in_minutes__calendar": "int",
        "reply_time_in_minutes__business": "int",
        "full_resolution_time_in_minutes__calendar": "int",
        "full_resolution_time_in_minutes__business": "int",
    },
)

SATISFACTION_RATINGS = TableSpec(
    source="zendesk",
    name="satisfaction_ratings",
    table="satisfaction_ratings",
    primary_key="id",
    cursor="updated_at",
    fields={
        "id": "int",
        "score": "str",
        "comment": "str",
        "ticket_id": "int",
        "requester_id": "int",
        "assignee_id": "int",
        "organization_id": "int",
        "created_at": "timestamp",
        "updated_at": "timestamp",
    },
    # CSAT feeds health scores directly: a changed shape is put aside, not guessed at.
    contract="quarantine",
)

TABLES: dict[str, TableSpec] = {
    s.name: s for s in (ORGANIZATIONS, USERS, TICKETS, TICKET_METRICS, SATISFACTION_RATINGS)
}
