-- The CRM's contacts, whichever CRM the company runs (var `crm`, macros/crm.sql): stg_salesforce__contacts
-- or stg_hubspot__contacts, chosen when the project is parsed. Both have the same columns and types, so
-- every model downstream reads this one and never names a CRM.
select * from {{ crm_staging('contacts') }}
