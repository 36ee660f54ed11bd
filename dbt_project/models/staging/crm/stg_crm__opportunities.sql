-- The CRM's opportunities, whichever CRM the company runs (var `crm`, macros/crm.sql): stg_salesforce__opportunities
-- or stg_hubspot__opportunities, chosen when the project is parsed. Both have the same columns and types, so
-- every model downstream reads this one and never names a CRM.
select * from {{ crm_staging('opportunities') }}
