"""Alert lifecycle: turns the rules that fire each day (dbt's alerts.alert_candidates) into alerts
with a state, and feeds the CSMs' outcomes back into each rule's precision."""
