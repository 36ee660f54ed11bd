{{ config(enabled=var('crm', 'salesforce') == 'hubspot') }}
-- HubSpot contacts in the shape of stg_salesforce__contacts; the account is the primary company,
-- archived contacts are out (macros/crm_contacts.sql).
{{ crm_contacts('hubspot') }}
