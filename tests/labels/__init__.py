"""Tests of the labels package (PDF and ZPL label rendering)."""
