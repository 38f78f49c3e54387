"""API types of the Sei operator."""
