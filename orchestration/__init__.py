"""The Dagster code location of the Customer Success Copilot (`orchestration.definitions`)."""
