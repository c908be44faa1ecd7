"""Supervisors' reports over stays and dossiers: dwell, on-time rates, triage, missed scans."""
