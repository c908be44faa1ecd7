"""Administrative procedures (TTHC), their versions and internal step plans."""
