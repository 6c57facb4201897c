"""A TCP relay on loopback that a test can cut and heal: a network partition
between a worker and one broker, without root or a network namespace.

Cut, it forwards nothing either way and accepts new connections without
forwarding them: to the client the broker is there and silent, as behind a
dropped link, until its requests time out. Healed, it closes what it held
(the client reconnects) and forwards again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Relay", "relays"]


class Relay:
    """Forwards `listen_port` to `target_port` on localhost, in a thread of its own."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> None:
        """Listen; return once connections are accepted."""
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        """Close everything and end the thread."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def partition(self) -> None:
        """Forward nothing from now on (connections stay open, silent)."""
        self.cut = True

    def heal(self) -> None:
        """Close the silent connections and forward again."""
        self.cut = False
        self._loop.call_soon_threadsafe(self._close_all)

    def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.listen_port)
        )
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        self._close_all()
        # let the closed transports finish before the loop is closed
        self._loop.run_until_complete(asyncio.sleep(0.1))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.cut:
                await reader.read()  # accepted, never answered, until closed
                return
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            except OSError:
                return
            self._writers.add(up_writer)
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.cut:
                    continue  # dropped on the floor, as by a broken link
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.close()


@contextmanager
def relays(pairs: list[tuple[int, int]]) -> Iterator[list[Relay]]:
    """Started relays for (listen_port, target_port) pairs, stopped on exit."""
    started = [Relay(listen, target) for listen, target in pairs]
    for relay in started:
        relay.start()
    try:
        yield started
    finally:
        for relay in started:
            relay.stop()
