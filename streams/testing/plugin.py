"""pytest plugin: fixtures for a broker, a worker, producing logs and reading topics."""

__all__: list[str] = []
