{{ config(enabled=var('crm', 'salesforce') == 'salesforce') }}
-- Salesforce Contacts, the live ones: soft-deleted contacts are merged duplicates, not people of the
-- account any more (macros/crm_contacts.sql).
{{ crm_contacts('salesforce') }}
