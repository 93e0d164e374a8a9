from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.engines.local import LocalChain, free_port
from ledger.errors import ChainError
from ledger.settings import Settings
from tests.conftest import make_settings


@pytest.fixture
def chain_settings(tmp_path: Path) -> Iterator[Settings]:
    port = free_port()
    settings = make_settings(tmp_path, f"http://127.0.0.1:{port}", rpc_port=port)
    settings = Settings.model_validate(
        {**settings.model_dump(exclude={"rpc_url_override"}), "rpc_port": port}
    )
    yield settings
    LocalChain(settings).down()


def test_restart_keeps_the_deployment(chain_settings: Settings, admin: LocalAccount) -> None:
    chain = LocalChain(chain_settings)
    status = chain.up()
    assert status.running
    assert status.persistent
    assert status.chain_id == 31415
    first = deploy_suite(LedgerContext(chain_settings), admin)
    assert first.reused is False
    address = first.manifest.address("MarketAccess")
    assert chain.down() is True
    assert chain.status().running is False
    assert chain.up().block_number == chain.status().block_number
    ctx = LedgerContext(chain_settings)
    assert ctx.w3.eth.get_code(address)
    second = deploy_suite(ctx, admin)
    assert second.reused is True
    assert second.manifest.address("MarketAccess") == address


def test_up_twice_says_already_running(chain_settings: Settings) -> None:
    chain = LocalChain(chain_settings)
    first = chain.up()
    second = chain.up()
    assert second.already_running is True
    assert second.pid == first.pid


def test_busy_port_gives_a_clear_error(chain_settings: Settings) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", chain_settings.rpc_port))
        blocker.listen()
        with pytest.raises(
            ChainError, match=f"port {chain_settings.rpc_port} on 127.0.0.1 is busy"
        ):
            LocalChain(chain_settings).up()


def test_reset_deletes_the_state(chain_settings: Settings, admin: LocalAccount) -> None:
    chain = LocalChain(chain_settings)
    chain.up()
    address = deploy_suite(LedgerContext(chain_settings), admin).manifest.address("MarketAccess")
    chain.reset()
    assert not chain.state_file.exists()
    chain.up()
    assert LedgerContext(chain_settings).w3.eth.get_code(address) == b""


@pytest.mark.slow
def test_hardhat_engine_runs_and_says_it_does_not_persist(chain_settings: Settings) -> None:
    chain = LocalChain(chain_settings)
    status = chain.up(engine="hardhat")
    assert status.running
    assert status.engine == "hardhat"
    assert status.persistent is False
    assert status.chain_id == 31415


def test_web3_does_not_take_anvil_for_proof_of_authority(session_settings: Settings) -> None:
    from ledger.web3factory import is_proof_of_authority, make_web3

    w3 = make_web3(session_settings)
    assert session_settings.poa is False
    assert is_proof_of_authority(w3) is False
    block = w3.eth.get_block(0)
    assert "proofOfAuthorityData" not in block
    assert block["extraData"] == b""
