"""The nodes' p2p wiring on loopback: enode ids and URLs, static-peer configs, free ports."""

from __future__ import annotations

import socket
from collections.abc import Sequence

from eth_keys.datatypes import PrivateKey

LOOPBACK = "127.0.0.1"


def enode_id(node_key_hex: str) -> str:
    """The 128-hex-digit node id (uncompressed public key) of a p2p private key."""
    key = PrivateKey(bytes.fromhex(node_key_hex.removeprefix("0x")))
    return key.public_key.to_bytes().hex()


def enode_url(node_key_hex: str, port: int, host: str = LOOPBACK) -> str:
    """The ``enode://`` URL of a node listening on ``host:port`` (no discovery port)."""
    return f"enode://{enode_id(node_key_hex)}@{host}:{port}?discport=0"


def node_config_toml(listen_port: int, static_nodes: Sequence[str]) -> str:
    """The geth ``--config`` TOML: loopback-only p2p listener, no discovery, static peers."""
    peers = ",\n".join(f'  "{url}"' for url in static_nodes)
    return (
        "# Written by gridledger consortium; rewritten whenever the ports change.\n"
        "[Node.P2P]\n"
        "NoDiscovery = true\n"
        f'ListenAddr = "{LOOPBACK}:{listen_port}"\n'
        f"StaticNodes = [\n{peers}\n]\n"
    )


def free_ports(count: int, *, exclude: Sequence[int] = ()) -> list[int]:
    """``count`` distinct TCP ports that are free on the loopback interface right now."""
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
            if port not in exclude and port not in ports:
                ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports
