"""The Copilot API: accounts, scores, alerts and feedback over REST, with role-based access."""
