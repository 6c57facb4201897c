"""Follower-threshold stream processor: crossings of 500K / 1M followers, live and in replay."""

__all__: list[str] = []
