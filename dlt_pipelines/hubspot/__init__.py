"""HubSpot CRM: companies, contacts, deals, owners, tasks and their associations."""
