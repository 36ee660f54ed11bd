"""The Salesforce objects we load, with the API's field names and types (the tables' contracts).

In API mode the field list is read from each object's describe call at run time, so custom fields
an admin adds arrive as new columns; the fields below are the ones the product relies on, and the
types the file-export path and the quality checks use.
"""

from __future__ import annotations

from dlt_pipelines.contracts import FieldType, TableSpec

_SYSTEM: dict[str, FieldType] = {
    "IsDeleted": "bool",
    "CreatedDate": "timestamp",
    "LastModifiedDate": "timestamp",
    "SystemModstamp": "timestamp",
}


def _spec(name: str, fields: dict[str, FieldType], non_negative: tuple[str, ...] = ()) -> TableSpec:
    return TableSpec(
        source="salesforce",
        name=name,
        table=name.lower(),
        primary_key="Id",
        cursor="SystemModstamp",
        fields={"Id": "str", **fields, **_SYSTEM},
        contract="evolve",  # CRM admins add custom fields all the time; they should simply arrive
        non_negative=non_negative,
        envelope=("attributes",),
    )


USER = _spec(
    "User",
    {
        "Username": "str",
        "FirstName": "str",
        "LastName": "str",
        "Name": "str",
        "Email": "str",
        "Title": "str",
        "Department": "str",
        "IsActive": "bool",
        "ManagerId": "str",
    },
)

ACCOUNT = _spec(
    "Account",
    {
        "Name": "str",
        "Type": "str",
        "Website": "str",
        "Industry": "str",
        "NumberOfEmployees": "int",
        "AnnualRevenue": "float",
        "BillingCountry": "str",
        "OwnerId": "str",
        "CSM__c": "str",
        "Segment__c": "str",
        "Product_Account_Id__c": "str",
        "Customer_Since__c": "date",
        "Contract_End_Date__c": "date",
        "ARR__c": "float",
        "Copilot_Health_Score__c": "float",
        "Copilot_Health_Tier__c": "str",
        "Copilot_Churn_Risk__c": "float",
        "Copilot_Risk_Drivers__c": "str",
        "Copilot_Expansion_Score__c": "float",
        "Copilot_Scored_At__c": "timestamp",
    },
    non_negative=("NumberOfEmployees", "AnnualRevenue", "ARR__c"),
)

CONTACT = _spec(
    "Contact",
    {
        "AccountId": "str",
        "FirstName": "str",
        "LastName": "str",
        "Name": "str",
        "Email": "str",
        "Title": "str",
        "Is_Champion__c": "bool",
        "Left_Company__c": "bool",
    },
)

OPPORTUNITY = _spec(
    "Opportunity",
    {
        "AccountId": "str",
        "Name": "str",
        "Type": "str",
        "StageName": "str",
        "Amount": "float",
        "CloseDate": "date",
        "IsClosed": "bool",
        "IsWon": "bool",
        "OwnerId": "str",
    },
    non_negative=("Amount",),
)

TASK = _spec(
    "Task",
    {
        "WhatId": "str",
        "OwnerId": "str",
        "Subject": "str",
        "Description": "str",
        "Status": "str",
        "Priority": "str",
        "ActivityDate": "date",
        "Copilot_Alert_Id__c": "str",
        "Copilot_Outcome__c": "str",
    },
)

TABLES: dict[str, TableSpec] = {s.name: s for s in (USER, ACCOUNT, CONTACT, OPPORTUNITY, TASK)}

# describe() field types -> contract types; compound fields (address, location) stay nested JSON.
DESCRIBE_TYPES: dict[str, FieldType] = {
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "double": "float",
    "currency": "float",
    "percent": "float",
    "date": "date",
    "datetime": "timestamp",
    "address": "json",
    "location": "json",
}
