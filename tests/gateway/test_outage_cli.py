"""A real RPC outage under a real ``gridledger gateway index`` (follow mode) process.

The follower reaches the chain through a TCP relay; the relay is shut (connections cut,
port closed: connection refused) for 4 seconds while the chain moves on, then opened again
on the same port. The process lives through it, logs one line when the outage starts and
one when it ends, and its database then equals a ``--once`` run's."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
from eth_account.signers.local import LocalAccount

from gateway.db import make_engine
from ledger.clients.access import MarketAccessClient
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.engines.local import free_port
from ledger.web3factory import make_web3
from tests.conftest import make_settings
from tests.gateway.conftest import dump, node
from tests.gateway.test_crash import GRIDLEDGER, _checkpoint, _env


class Relay:
    """A TCP relay 127.0.0.1:``port`` -> ``target`` that can be shut and opened again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def shut(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            conns, self._conns = self._conns, []
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            server.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                live = self._server is server
                if live:
                    self._conns += [client, upstream]
            if not live:  # shut meanwhile
                client.close()
                upstream.close()
                return
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


@pytest.mark.slow
def test_the_follow_process_lives_through_a_4_s_rpc_outage(
    ctx: LedgerContext, admin: LocalAccount, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    settings = make_settings(data_dir, ctx.settings.rpc_url)
    suite_ctx = LedgerContext(settings, w3=make_web3(settings))
    deploy_suite(suite_ctx, admin, fresh=True)
    access = suite_ctx.client(MarketAccessClient, admin)
    access.grant_role("OPERATOR", node(1))
    anvil = urlparse(ctx.settings.rpc_url)
    relay = Relay((str(anvil.hostname), int(anvil.port or 0)))
    relay.open()
    followed = f"sqlite:///{tmp_path}/followed.db"
    env = _env(data_dir, f"http://127.0.0.1:{relay.port}", followed)
    env["GRIDLEDGER_GATEWAY_RETRY_MAX_S"] = "0.5"
    log = tmp_path / "index.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [GRIDLEDGER, "gateway", "index", "--poll-interval", "0.1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            _wait_for(lambda: _checkpoint(followed) == ctx.w3.eth.block_number)
            relay.shut()  # the RPC node goes away ...
            for n in range(2, 6):
                access.grant_role("OPERATOR", node(n))
            time.sleep(4.0)
            assert proc.poll() is None, log.read_text()
            relay.open()  # ... and comes back on the same port
            head = ctx.w3.eth.block_number
            _wait_for(lambda: _checkpoint(followed) == head)
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
            relay.shut()
    text = log.read_text()
    down = [line for line in text.splitlines() if "the RPC node is unavailable" in line]
    back = [line for line in text.splitlines() if "back after" in line]
    assert len(down) == 1, text
    assert len(back) == 1, text
    assert proc.returncode == 0, text
    reference = f"sqlite:///{tmp_path}/reference.db"
    subprocess.run(
        [GRIDLEDGER, "gateway", "index", "--once"],
        env=_env(data_dir, ctx.settings.rpc_url, reference),
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert dump(make_engine(followed)) == dump(make_engine(reference))


def _wait_for(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
