"""Staff users, personal API tokens and scanner devices."""
