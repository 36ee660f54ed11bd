"""The objects of the sandbox's source systems, as their APIs name them.

This module is the contract between the world generator (which writes records) and the
emulators (which serve them over HTTP). Every object is one SQLite table whose columns are the
API's top-level fields; nested values (Stripe items, Zendesk tags) are stored as JSON text.

Timestamps are stored in one sortable form per system, as the real API compares them:
- Salesforce datetimes: ``2025-01-31T14:05:09.000Z`` (served as ``...000+0000``), dates ``2025-01-31``
- Zendesk: ``2025-01-31T14:05:09Z``
- Stripe: Unix seconds (int)
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Field types. Salesforce types follow the describe() names so describe can echo them.
ID = "id"
REFERENCE = "reference"
STRING = "string"
TEXTAREA = "textarea"
PICKLIST = "picklist"
EMAIL = "email"
URL = "url"
BOOLEAN = "boolean"
INT = "int"
DOUBLE = "double"
CURRENCY = "currency"
PERCENT = "percent"
DATE = "date"
DATETIME = "datetime"
UNIX = "unix"  # Stripe timestamps
JSON = "json"  # nested objects and lists

NUMERIC_TYPES = {INT, DOUBLE, CURRENCY, PERCENT, UNIX}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str = ""
    custom: bool = False
    external_id: bool = False
    reference_to: str | None = None
    picklist: tuple[str, ...] = ()
    updateable: bool = True


@dataclass(frozen=True)
class ObjectSchema:
    system: str  # salesforce | zendesk | stripe | slack
    name: str  # the API's name: Account, tickets, customers
    table: str  # SQLite table
    key: str  # primary key field
    fields: tuple[Field, ...]
    modified_field: str | None  # the field the API filters changes on
    id_prefix: str = ""  # Salesforce key prefix / Stripe id prefix
    extra: dict = field(default_factory=dict)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name.lower() == name.lower():
                return f
        raise KeyError(name)

    def has_field(self, name: str) -> bool:
        return any(f.name.lower() == name.lower() for f in self.fields)


def _sf_system_fields() -> tuple[Field, ...]:
    return (
        Field("IsDeleted", BOOLEAN, "Deleted", updateable=False),
        Field("CreatedDate", DATETIME, "Created Date", updateable=False),
        Field("LastModifiedDate", DATETIME, "Last Modified Date", updateable=False),
        Field("SystemModstamp", DATETIME, "System Modstamp", updateable=False),
    )


SF_USER = ObjectSchema(
    "salesforce",
    "User",
    "sf_user",
    "Id",
    (
        Field("Id", ID, "User ID", updateable=False),
        Field("Username", STRING, "Username"),
        Field("FirstName", STRING, "First Name"),
        Field("LastName", STRING, "Last Name"),
        Field("Name", STRING, "Full Name", updateable=False),
        Field("Email", EMAIL, "Email"),
        Field("Title", STRING, "Title"),
        Field("Department", STRING, "Department"),
        Field("IsActive", BOOLEAN, "Active"),
        Field("ManagerId", REFERENCE, "Manager ID", reference_to="User"),
        *_sf_system_fields(),
    ),
    "SystemModstamp",
    id_prefix="005",
)

COPILOT_ACCOUNT_FIELDS = (
    Field("Copilot_Health_Score__c", DOUBLE, "Copilot Health Score", custom=True),
    Field("Copilot_Health_Tier__c", PICKLIST, "Copilot Health Tier", custom=True, picklist=("Green", "Yellow", "Red")),
    Field("Copilot_Churn_Risk__c", PERCENT, "Copilot Churn Risk", custom=True),
    Field("Copilot_Risk_Drivers__c", TEXTAREA, "Copilot Top Risk Drivers", custom=True),
    Field("Copilot_Expansion_Score__c", DOUBLE, "Copilot Expansion Score", custom=True),
    Field("Copilot_Scored_At__c", DATETIME, "Copilot Scored At", custom=True),
)

SF_ACCOUNT = ObjectSchema(
    "salesforce",
    "Account",
    "sf_account",
    "Id",
    (
        Field("Id", ID, "Account ID", updateable=False),
        Field("Name", STRING, "Account Name"),
        Field("Type", PICKLIST, "Account Type", picklist=("Prospect", "Customer", "Former Customer")),
        Field("Website", URL, "Website"),
        Field("Industry", PICKLIST, "Industry"),
        Field("NumberOfEmployees", INT, "Employees"),
        Field("AnnualRevenue", CURRENCY, "Annual Revenue"),
        Field("BillingCountry", STRING, "Billing Country"),
        Field("OwnerId", REFERENCE, "Owner ID", reference_to="User"),
        Field("CSM__c", REFERENCE, "Customer Success Manager", custom=True, reference_to="User"),
        Field("Segment__c", PICKLIST, "Segment", custom=True, picklist=("SMB", "Mid-Market", "Enterprise")),
        Field("Product_Account_Id__c", STRING, "Product Workspace ID", custom=True, external_id=True),
        Field("Customer_Since__c", DATE, "Customer Since", custom=True),
        Field("Contract_End_Date__c", DATE, "Contract End Date", custom=True),
        Field("ARR__c", CURRENCY, "ARR", custom=True),
        *COPILOT_ACCOUNT_FIELDS,
        *_sf_system_fields(),
    ),
    "SystemModstamp",
    id_prefix="001",
)

SF_CONTACT = ObjectSchema(
    "salesforce",
    "Contact",
    "sf_contact",
    "Id",
    (
        Field("Id", ID, "Contact ID", updateable=False),
        Field("AccountId", REFERENCE, "Account ID", reference_to="Account"),
        Field("FirstName", STRING, "First Name"),
        Field("LastName", STRING, "Last Name"),
        Field("Name", STRING, "Full Name", updateable=False),
        Field("Email", EMAIL, "Email"),
        Field("Title", STRING, "Title"),
        Field("Is_Champion__c", BOOLEAN, "Champion", custom=True),
        Field("Left_Company__c", BOOLEAN, "No Longer at Company", custom=True),
        *_sf_system_fields(),
    ),
    "SystemModstamp",
    id_prefix="003",
)

SF_OPPORTUNITY = ObjectSchema(
    "salesforce",
    "Opportunity",
    "sf_opportunity",
    "Id",
    (
        Field("Id", ID, "Opportunity ID", updateable=False),
        Field("AccountId", REFERENCE, "Account ID", reference_to="Account"),
        Field("Name", STRING, "Name"),
        Field("Type", PICKLIST, "Opportunity Type", picklist=("New Business", "Renewal", "Expansion")),
        Field(
            "StageName",
            PICKLIST,
            "Stage",
            picklist=("Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"),
        ),
        Field("Amount", CURRENCY, "Amount"),
        Field("CloseDate", DATE, "Close Date"),
        Field("IsClosed", BOOLEAN, "Closed", updateable=False),
        Field("IsWon", BOOLEAN, "Won", updateable=False),
        Field("OwnerId", REFERENCE, "Owner ID", reference_to="User"),
        *_sf_system_fields(),
    ),
    "SystemModstamp",
    id_prefix="006",
)

TASK_OUTCOMES = ("Confirmed risk", "False alarm", "Already known")

SF_TASK = ObjectSchema(
    "salesforce",
    "Task",
    "sf_task",
    "Id",
    (
        Field("Id", ID, "Activity ID", updateable=False),
        Field("WhatId", REFERENCE, "Related To ID", reference_to="Account"),
        Field("OwnerId", REFERENCE, "Assigned To ID", reference_to="User"),
        Field("Subject", STRING, "Subject"),
        Field("Description", TEXTAREA, "Description"),
        Field("Status", PICKLIST, "Status", picklist=("Not Started", "In Progress", "Completed")),
        Field("Priority", PICKLIST, "Priority", picklist=("High", "Normal", "Low")),
        Field("ActivityDate", DATE, "Due Date"),
        Field("Copilot_Alert_Id__c", STRING, "Copilot Alert ID", custom=True, external_id=True),
        Field("Copilot_Outcome__c", PICKLIST, "Copilot Outcome", custom=True, picklist=TASK_OUTCOMES),
        *_sf_system_fields(),
    ),
    "SystemModstamp",
    id_prefix="00T",
)

ZD_ORGANIZATIONS = ObjectSchema(
    "zendesk",
    "organizations",
    "zd_organizations",
    "id",
    (
        Field("id", INT),
        Field("name", STRING),
        Field("domain_names", JSON),
        Field("external_id", STRING),
        Field("tags", JSON),
        Field("organization_fields", JSON),
        Field("created_at", DATETIME),
        Field("updated_at", DATETIME),
    ),
    "updated_at",
)

ZD_USERS = ObjectSchema(
    "zendesk",
    "users",
    "zd_users",
    "id",
    (
        Field("id", INT),
        Field("name", STRING),
        Field("email", EMAIL),
        Field("role", STRING),  # end-user | agent | admin
        Field("organization_id", INT),
        Field("active", BOOLEAN),
        Field("created_at", DATETIME),
        Field("updated_at", DATETIME),
    ),
    "updated_at",
)

ZD_TICKETS = ObjectSchema(
    "zendesk",
    "tickets",
    "zd_tickets",
    "id",
    (
        Field("id", INT),
        Field("subject", STRING),
        Field("description", TEXTAREA),
        Field("type", STRING),  # question | incident | problem | task
        Field("priority", STRING),  # low | normal | high | urgent
        Field("status", STRING),  # new | open | pending | hold | solved | closed | deleted
        Field("requester_id", INT),
        Field("submitter_id", INT),
        Field("assignee_id", INT),
        Field("organization_id", INT),
        Field("tags", JSON),
        Field("satisfaction_rating", JSON),
        Field("created_at", DATETIME),
        Field("updated_at", DATETIME),
    ),
    "updated_at",
)

ZD_TICKET_METRICS = ObjectSchema(
    "zendesk",
    "ticket_metrics",
    "zd_ticket_metrics",
    "id",
    (
        Field("id", INT),
        Field("ticket_id", INT),
        Field("reopens", INT),
        Field("replies", INT),
        Field("reply_time_in_minutes", JSON),  # {"calendar": n, "business": n}
        Field("full_resolution_time_in_minutes", JSON),
        Field("solved_at", DATETIME),
        Field("created_at", DATETIME),
        Field("updated_at", DATETIME),
    ),
    "updated_at",
)

ZD_SATISFACTION_RATINGS = ObjectSchema(
    "zendesk",
    "satisfaction_ratings",
    "zd_satisfaction_ratings",
    "id",
    (
        Field("id", INT),
        Field("score", STRING),  # good | bad
        Field("comment", TEXTAREA),
        Field("ticket_id", INT),
        Field("requester_id", INT),
        Field("assignee_id", INT),
        Field("organization_id", INT),
        Field("created_at", DATETIME),
        Field("updated_at", DATETIME),
    ),
    "updated_at",
)

ST_CUSTOMERS = ObjectSchema(
    "stripe",
    "customers",
    "st_customers",
    "id",
    (
        Field("id", STRING),
        Field("object", STRING),
        Field("name", STRING),
        Field("email", EMAIL),
        Field("currency", STRING),
        Field("delinquent", BOOLEAN),
        Field("metadata", JSON),  # {"salesforce_account_id": "001..."} for most customers
        Field("deleted", BOOLEAN),
        Field("livemode", BOOLEAN),
        Field("created", UNIX),
    ),
    None,
    id_prefix="cus_",
)

ST_SUBSCRIPTIONS = ObjectSchema(
    "stripe",
    "subscriptions",
    "st_subscriptions",
    "id",
    (
        Field("id", STRING),
        Field("object", STRING),
        Field("customer", STRING),
        Field("status", STRING),  # active | past_due | unpaid | canceled | trialing | incomplete
        Field("items", JSON),  # {"object":"list","data":[{"id","price":{...},"quantity"}]}
        Field("collection_method", STRING),
        Field("currency", STRING),
        Field("current_period_start", UNIX),
        Field("current_period_end", UNIX),
        Field("cancel_at_period_end", BOOLEAN),
        Field("cancel_at", UNIX),
        Field("canceled_at", UNIX),
        Field("ended_at", UNIX),
        Field("start_date", UNIX),
        Field("metadata", JSON),
        Field("livemode", BOOLEAN),
        Field("created", UNIX),
    ),
    None,
    id_prefix="sub_",
)

ST_INVOICES = ObjectSchema(
    "stripe",
    "invoices",
    "st_invoices",
    "id",
    (
        Field("id", STRING),
        Field("object", STRING),
        Field("customer", STRING),
        Field("subscription", STRING),
        Field("status", STRING),  # draft | open | paid | uncollectible | void
        Field("billing_reason", STRING),
        Field("currency", STRING),
        Field("amount_due", INT),  # cents
        Field("amount_paid", INT),
        Field("amount_remaining", INT),
        Field("attempt_count", INT),
        Field("attempted", BOOLEAN),
        Field("paid", BOOLEAN),
        Field("next_payment_attempt", UNIX),
        Field("due_date", UNIX),
        Field("period_start", UNIX),
        Field("period_end", UNIX),
        Field("status_transitions", JSON),  # {"finalized_at","paid_at","marked_uncollectible_at","voided_at"}
        Field("livemode", BOOLEAN),
        Field("created", UNIX),
    ),
    None,
    id_prefix="in_",
)

# Every write to a Stripe object also records an Event, as Stripe does; /v1/events serves them and
# lets loaders see changes to old objects (an invoice paid late, a subscription canceled).
ST_EVENTS = ObjectSchema(
    "stripe",
    "events",
    "st_events",
    "id",
    (
        Field("id", STRING),
        Field("object", STRING),
        Field("type", STRING),
        Field("data", JSON),  # {"object": <the object after the change>, "previous_attributes": {...}}
        Field("api_version", STRING),
        Field("livemode", BOOLEAN),
        Field("created", UNIX),
    ),
    None,
    id_prefix="evt_",
)

SALESFORCE_OBJECTS = {o.name: o for o in (SF_USER, SF_ACCOUNT, SF_CONTACT, SF_OPPORTUNITY, SF_TASK)}
ZENDESK_OBJECTS = {
    o.name: o for o in (ZD_ORGANIZATIONS, ZD_USERS, ZD_TICKETS, ZD_TICKET_METRICS, ZD_SATISFACTION_RATINGS)
}
STRIPE_OBJECTS = {o.name: o for o in (ST_CUSTOMERS, ST_SUBSCRIPTIONS, ST_INVOICES, ST_EVENTS)}

ALL_OBJECTS: dict[str, ObjectSchema] = {
    o.table: o for o in (*SALESFORCE_OBJECTS.values(), *ZENDESK_OBJECTS.values(), *STRIPE_OBJECTS.values())
}

# Product usage events are not served over HTTP: they are Parquet files as a warehouse export
# delivers them, one folder per day: exports/events/event_date=YYYY-MM-DD/events.parquet
PRODUCT_EVENT_COLUMNS = (
    ("event_id", "string"),
    ("account_id", "string"),  # the product workspace id, e.g. ws_000123 (Account.Product_Account_Id__c)
    ("user_id", "string"),
    ("event_name", "string"),
    ("event_timestamp", "timestamp[us, UTC]"),
    ("properties", "string"),  # JSON object
)
