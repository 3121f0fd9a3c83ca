"""Pure functions, no I/O: checks, dates, counts, grounding, consolidation, normalising, scoring, similarity."""
