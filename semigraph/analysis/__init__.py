"""Analyses over the model: one module per question."""
