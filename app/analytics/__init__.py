"""Supervisors' reports and exports: dwell, on-time rates, triage, missed scans over stays and
dossiers; the register and the handoff log as files."""
