"""Replaying a successful run as a parameterised job (RPA): the next piece of work, empty for now."""
