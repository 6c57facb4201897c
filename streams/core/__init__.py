"""The pure core: crossing rules, policy rules and their state. Standard library only."""

__all__: list[str] = []
