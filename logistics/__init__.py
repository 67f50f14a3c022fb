"""Facility sample logistics tracker: shipments, dewars, containers and samples as events."""
