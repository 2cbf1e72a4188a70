"""Measurements (placeholder while building)."""
