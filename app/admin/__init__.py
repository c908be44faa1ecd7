"""Administration: the ``/admin`` pages and the append-only log of what admins did."""
