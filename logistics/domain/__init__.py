"""The domain: aggregates and their rules. No web, database, file or PDF code here."""
