"""The egress proxy: CONNECTs to a routed cluster IP reach the local process; everything else is refused."""

from __future__ import annotations

import socket
import socketserver
import threading

import pytest

from embedded.egress import EgressProxy, _connect_target


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(4096):
            self.request.sendall(data.upper())


@pytest.fixture
def echo_port():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(tmp_path, echo_port):
    routes = {("10.0.0.17", 443): echo_port, ("10.0.0.18", 443): 1}  # port 1: nothing listens
    egress = EgressProxy(tmp_path / "egress.sock", lambda host, port: routes.get((host, port)))
    egress.start()
    yield egress
    egress.stop()


def connect(proxy: EgressProxy, request: bytes) -> tuple[bytes, socket.socket]:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(5)
    client.connect(str(proxy.socket_path))
    client.sendall(request)
    reply = b""
    while not reply.endswith(b"\r\n\r\n"):
        chunk = client.recv(1)
        if not chunk:
            break
        reply += chunk
    return reply, client


def test_stopping_the_proxy_closes_the_connections_it_spliced(proxy):
    reply, client = connect(proxy, b"CONNECT 10.0.0.17:443 HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200")
    proxy.stop()
    assert client.recv(100) == b"", "the client sees the connection closed"
    client.close()


def test_a_routed_cluster_ip_is_spliced_to_its_local_process(proxy):
    reply, client = connect(proxy, b"CONNECT 10.0.0.17:443 HTTP/1.1\r\nHost: 10.0.0.17:443\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200")
    client.sendall(b"webhook")
    assert client.recv(100) == b"WEBHOOK"
    client.close()
    assert proxy.connected == [f"10.0.0.17:443 -> 127.0.0.1:{proxy.route('10.0.0.17', 443)}"]


@pytest.mark.parametrize(
    "request_line",
    [
        b"CONNECT 10.0.0.17:8443 HTTP/1.1",
        b"CONNECT 192.168.1.1:443 HTTP/1.1",
        b"GET / HTTP/1.1",
        b"CONNECT x:1 HTTP/1.1",
    ],
)
def test_anything_not_routed_is_refused(proxy, request_line):
    reply, client = connect(proxy, request_line + b"\r\n\r\n")
    client.close()
    assert reply.startswith(b"HTTP/1.1 403")
    assert proxy.connected == []


def test_a_routed_target_with_nothing_listening_is_a_bad_gateway(proxy):
    reply, client = connect(proxy, b"CONNECT 10.0.0.18:443 HTTP/1.1\r\n\r\n")
    client.close()
    assert reply.startswith(b"HTTP/1.1 502")


def test_only_ip_literal_targets_with_valid_ports_are_understood():
    assert _connect_target("CONNECT 10.0.0.1:443 HTTP/1.1") == ("10.0.0.1", 443)
    assert _connect_target("CONNECT [fd00::1]:443 HTTP/1.1") == ("fd00::1", 443)
    assert _connect_target("CONNECT kserve.svc:443 HTTP/1.1") is None
    assert _connect_target("CONNECT 10.0.0.1:0 HTTP/1.1") is None
    assert _connect_target("CONNECT 10.0.0.1:443") is None
