"""The application: commands and queries over the aggregates, in plain values."""
