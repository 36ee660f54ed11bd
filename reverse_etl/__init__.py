"""Reverse ETL: scores to Salesforce Account fields, alerts to Salesforce Tasks and Slack, behind a
data-quality gate. See README.md."""
