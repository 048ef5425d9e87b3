"""Handoff from the AI front line to a human agent."""
