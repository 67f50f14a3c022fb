"""The GraphQL API: a thin adapter from GraphQL to the application's session (no rules here)."""
