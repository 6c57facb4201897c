"""The repository's own test support, not shipped (the users' kit is `streams.testing`)."""
