"""The API server's way out: an HTTP CONNECT proxy on a Unix socket that the API server's egress selector sends
every dial of the `cluster` network context through (admission webhooks, CRD conversion, aggregated APIs), and
that connects only to the local processes standing in for pods.

kube-apiserver (`--egress-selector-config-file`, k8s.io/apiserver pkg/server/egressselector, `tunnelHTTPConnect`)
writes `CONNECT <host>:<port> HTTP/1.1` on a new connection per dial and expects `HTTP/1.1 200` before TLS starts.
With the default ClusterIP service resolution the host is the Service's cluster IP and the port the Service's
port. The proxy looks the pair up in its routes (cluster IP:port -> a 127.0.0.1 port, kept by the pod runner) and
splices the two connections; anything not in the table is refused, so nothing leaves 127.0.0.0/8 and no cluster
IP is ever dialled.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("embedded.egress")

Route = Callable[[str, int], int | None]
"""(host, port) of a CONNECT -> the 127.0.0.1 port to splice it to, or None to refuse it."""

MAX_REQUEST = 16 * 1024


class EgressProxy:
    """Serve CONNECT on `socket_path` in a background thread; `route` answers where each target goes."""

    def __init__(self, socket_path: Path, route: Route):
        self.socket_path = socket_path
        self.route = route
        self.refused: list[str] = []
        self.connected: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._ready = threading.Event()
        self._open: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self._thread = threading.Thread(target=self._run, name="egress-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the egress proxy did not start on {self.socket_path}")

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        if self._thread is not None:
            self._thread.join(5)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def _shutdown(self) -> None:
        """Stop accepting, close every spliced connection, then stop the loop."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            await _close(writer)
        asyncio.get_running_loop().call_soon(asyncio.get_running_loop().stop)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_unix_server(self._handle, path=str(self.socket_path))
        )
        os.chmod(self.socket_path, 0o600)
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        line = request.split(b"\r\n", 1)[0].decode("latin-1")
        target = _connect_target(line)
        port = self.route(*target) if target else None
        if target is None or port is None:
            self.refused.append(line)
            log.warning("refused %r", line)
            writer.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            await _close(writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as error:
            log.warning("%s -> 127.0.0.1:%d: %s", line, port, error)
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            await _close(writer)
            return
        self.connected.append(f"{target[0]}:{target[1]} -> 127.0.0.1:{port}")
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        self._open |= {writer, upstream_writer}
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._open -= {writer, upstream_writer}


def _connect_target(line: str) -> tuple[str, int] | None:
    """(host, port) of `CONNECT host:port HTTP/1.1`; None for anything else."""
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != "CONNECT" or not parts[2].startswith("HTTP/1."):
        return None
    host, _, port = parts[1].rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        return None
    return (host, number) if 0 < number < 65536 else None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
        await writer.wait_closed()
