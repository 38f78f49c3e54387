"""The SeiNode controller: rendering of child objects, planning, reconciliation."""
