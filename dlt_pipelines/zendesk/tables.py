"""The Zendesk objects we load, with the API's field names and types (the tables' contracts)."""

from __future__ import annotations

from dlt_pipelines.contracts import FieldType, TableSpec

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

_MORE_DURATIONS = ("first_resolution", "agent_wait", "requester_wait", "on_hold")
_MORE_TIMES = (
    "assigned",
    "initially_assigned",
    "assignee_updated",
    "requester_updated",
    "status_updated",
    "custom_status_updated",
    "latest_comment_added",
)
# The rest of the documented Ticket Metrics object, which no model reads: declared so a page of
# metrics loads as one typed table (`contracts.arrow_batch`), and optional (no drift).
_UNREAD_METRICS: dict[str, FieldType] = {
    **{f"{name}_time_in_minutes": "json" for name in _MORE_DURATIONS},
    "reply_time_in_seconds": "json",
    **{f"{name}_at": "timestamp" for name in _MORE_TIMES},
    "assignee_stations": "int",
    "group_stations": "int",
    "url": "str",
}

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
        **_UNREAD_METRICS,
    },
    contract="evolve",
    non_negative=("reopens", "replies"),
    optional=tuple(_UNREAD_METRICS),
    nested={
        # durations in minutes, of the calendar and of business hours
        **{
            f"{name}_time_in_minutes__{clock}": "int"
            for name in ("reply", "full_resolution", *_MORE_DURATIONS)
            for clock in ("calendar", "business")
        },
        "reply_time_in_seconds__calendar": "int",
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
