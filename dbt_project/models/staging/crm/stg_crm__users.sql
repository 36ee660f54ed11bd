-- The CRM's users, whichever CRM the company runs (var `crm`, macros/crm.sql): stg_salesforce__users
-- or stg_hubspot__users, chosen when the project is parsed. Both have the same columns and types, so
-- every model downstream reads this one and never names a CRM.
select * from {{ crm_staging('users') }}
