"""Dossiers, handoff scans and the public lookup: the spine of the tracker."""
