"""Print jobs: staff ask a station's scanner agent to print a dossier's label on its printer."""
