"""Adapters: the database, the read model, personal-data keys and the fixture files."""
