"""Supervisors' reports and exports: the register, the handoff log, dwell and on-time figures."""
