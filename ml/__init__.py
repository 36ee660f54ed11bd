"""Churn and expansion models: training, registry, daily scoring with reasons, monitoring."""
