"""Ports for the embedded cluster's processes (embedded/control_plane.py `free_port`): outside the kernel's ephemeral
range, where outgoing connections take their local ports (a server that binds every address, as cert-manager's
webhook does, failed with "address already in use" and crash-looped on a port an outgoing connection held), free on
every address, and never the same twice."""

from __future__ import annotations

import socket

from embedded import control_plane as cp


def test_ports_are_distinct_below_the_ephemeral_range_and_free_on_every_address():
    ports = [cp.free_port() for _ in range(60)]
    assert len(set(ports)) == len(ports)
    assert all(cp.PORTS_FROM <= port < cp._ephemeral_low() for port in ports)
    for port in ports[:10]:
        with socket.socket() as s:
            s.bind(("0.0.0.0", port))


def test_a_port_in_use_on_any_address_is_not_given(monkeypatch):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        picks = iter([taken, *range(21000, 21100)])
        monkeypatch.setattr(cp, "PORTS_FROM", 1)
        monkeypatch.setattr(cp.random, "Random", lambda: type("R", (), {"randrange": lambda self, a, b: next(picks)})())
        monkeypatch.setattr(cp, "_ephemeral_low", lambda: 65536)
        assert cp.free_port() != taken
