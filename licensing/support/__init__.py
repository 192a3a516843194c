"""Staff: accounts, API tokens, console sign-in, and support's look-ups and actions."""
