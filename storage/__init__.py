"""The one database layer: the connection policy, the schema and its migrations, transactions,
and a repository per concept. Imports nothing from bot/ or handoff/ (docs/architecture.md)."""
