"""Findings over the engine's answers: one module per question (cut sets, concentration,
stockpile, indicators, risk, early warning, fault-tree export)."""
