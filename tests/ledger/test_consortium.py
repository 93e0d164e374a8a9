"""The consortium network: genesis/keys/config unit tests, and (marked ``consortium``)
a real 4-validator geth Clique network on loopback: peering, a signed EIP-1559 transfer
across members, Clique governance, and fault tolerance (1 of 4 down, 2 of 4 down).

The marked tests build geth v1.13.15 once into the stable cache
(``GRIDLEDGER_GETH_CACHE``, default ``~/.cache/gridledger/geth-v1.13.15``) and start
their own networks in tmp dirs on free ports.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from ledger.engines.clique import (
    CONSORTIUM_CHAIN_ID,
    DEFAULT_PREFUND_WEI,
    Consortium,
    GethBinary,
    RpcClient,
    build_genesis,
    build_qbft_genesis,
    clique_extra_data,
    clique_signers_from_extra,
    enode_id,
    ensure_geth,
    find_geth,
    find_go,
    free_ports,
    geth_build_command,
    geth_cache_dir,
    keystore_addresses,
    node_config_toml,
    qbft_extra_data,
    rlp_encode,
    wait_until,
)
from ledger.engines.clique.errors import (
    ConsortiumAlreadyRunningError,
    ConsortiumConfigError,
    ConsortiumNotFoundError,
    GethNotAvailableError,
    GovernanceError,
)
from ledger.engines.clique.sealing import restart_sealing
from ledger.errors import ValidationError
from ledger.settings import Settings
from ledger.web3factory import make_web3

PERIOD_S = 1
#: Cheap scrypt for the tests' validator keystores (the CLI uses keystore_scrypt_n).
TEST_SCRYPT_N = 2**14

# --------------------------------------------------------------------------------------
# Unit tests (no geth)
# --------------------------------------------------------------------------------------


def _addresses(n: int) -> list[str]:
    return [Account.create().address for _ in range(n)]


def test_extra_data_lists_signers_sorted_between_vanity_and_seal() -> None:
    signers = _addresses(4)
    extra = clique_extra_data(signers)
    raw = bytes.fromhex(extra[2:])
    assert len(raw) == 32 + 4 * 20 + 65
    assert raw[:32] == bytes(32)
    assert raw[-65:] == bytes(65)
    decoded = clique_signers_from_extra(extra)
    assert decoded == sorted(signers, key=lambda a: a.lower())


def test_extra_data_needs_a_signer() -> None:
    with pytest.raises(ConsortiumConfigError):
        clique_extra_data([])


def test_genesis_stops_at_london_and_prefunds() -> None:
    signers = _addresses(3)
    app = _addresses(2)
    genesis = build_genesis(chain_id=CONSORTIUM_CHAIN_ID, period_s=2, signers=signers, prefund=app)
    config = genesis["config"]
    assert config["chainId"] == 31416
    assert config["londonBlock"] == 0
    assert config["berlinBlock"] == 0
    assert config["clique"] == {"period": 2, "epoch": 30000}
    forbidden = {"shanghaiTime", "cancunTime", "pragueTime", "terminalTotalDifficulty"}
    assert not forbidden & set(config)
    assert int(genesis["gasLimit"], 16) >= 30_000_000
    assert int(genesis["baseFeePerGas"], 16) == 7
    assert set(genesis["alloc"]) == {a.lower()[2:] for a in signers + app}
    assert all(int(v["balance"], 16) == DEFAULT_PREFUND_WEI for v in genesis["alloc"].values())
    assert clique_signers_from_extra(genesis["extraData"]) == sorted(
        signers, key=lambda a: a.lower()
    )


def test_genesis_rejects_bad_parameters() -> None:
    with pytest.raises(ConsortiumConfigError):
        build_genesis(chain_id=1, period_s=0, signers=_addresses(1))
    with pytest.raises(ValidationError):
        build_genesis(chain_id=1, period_s=1, signers=["0x1234"])


def test_enode_and_static_node_config() -> None:
    key = "11" * 32
    node_id = enode_id(key)
    assert len(node_id) == 128
    assert node_id == enode_id("0x" + key)
    toml = node_config_toml(30333, [f"enode://{node_id}@127.0.0.1:30334?discport=0"])
    assert 'ListenAddr = "127.0.0.1:30333"' in toml
    assert "NoDiscovery = true" in toml
    assert f"enode://{node_id}@127.0.0.1:30334?discport=0" in toml


def test_go_build_command_switches_off_linkname_check_for_new_go() -> None:
    new = geth_build_command(Path("/go/bin/go"), (1, 26))
    assert new == [
        "/go/bin/go",
        "install",
        "-ldflags=-checklinkname=0",
        "github.com/ethereum/go-ethereum/cmd/geth@v1.13.15",
    ]
    old = geth_build_command(Path("go"), (1, 22))
    assert "-ldflags=-checklinkname=0" not in old


def test_geth_cache_dir_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRIDLEDGER_GETH_CACHE", str(tmp_path / "cache"))
    assert geth_cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("GRIDLEDGER_GETH_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert geth_cache_dir() == Path.home() / ".cache" / "gridledger" / "geth-v1.13.15"


def test_explicit_geth_must_be_113(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "geth"
    fake.write_text("#!/bin/sh\necho 'Version: 1.14.0-stable'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GRIDLEDGER_GETH", str(fake))
    with pytest.raises(GethNotAvailableError):
        find_geth()
    fake.write_text("#!/bin/sh\necho 'Geth'\necho 'Version: 1.13.9-stable'\n")
    found = find_geth()
    assert found == GethBinary(path=fake.resolve(), version="1.13.9")


def test_free_ports_are_distinct() -> None:
    ports = free_ports(12)
    assert len(set(ports)) == 12


def test_keystore_addresses(tmp_path: Path) -> None:
    account = Account.create()
    keystore = Account.encrypt(account.key, "pw", kdf="scrypt", iterations=2)
    (tmp_path / "admin.json").write_text(json.dumps(keystore))
    (tmp_path / "junk.txt").write_text("not json")
    assert keystore_addresses(tmp_path) == [account.address]
    assert keystore_addresses(tmp_path / "missing") == []


def test_commands_without_a_consortium(tmp_path: Path) -> None:
    consortium = Consortium(tmp_path / "consortium")
    with pytest.raises(ConsortiumNotFoundError):
        consortium.status()
    with pytest.raises(ConsortiumNotFoundError):
        consortium.down()
    with pytest.raises(ValidationError):
        consortium.propose("not-an-address", True)
    with pytest.raises(ConsortiumConfigError):
        consortium.up(validators=0)


def test_rlp_encoding_vectors() -> None:
    assert rlp_encode(b"") == b"\x80"
    assert rlp_encode(b"\x7f") == b"\x7f"
    assert rlp_encode(b"dog") == b"\x83dog"
    assert rlp_encode([b"cat", b"dog"]) == b"\xc8\x83cat\x83dog"
    assert rlp_encode(0) == b"\x80"
    assert rlp_encode(1024) == b"\x82\x04\x00"
    assert rlp_encode([[], [[]], [[], [[]]]]) == bytes.fromhex("c7c0c1c0c3c0c1c0")
    long = b"L" * 56
    assert rlp_encode(long) == b"\xb8\x38" + long


def test_qbft_extra_data_and_genesis() -> None:
    validator = "0x" + "11" * 20
    assert qbft_extra_data([validator]) == ("0xf83aa0" + "00" * 32 + "d594" + "11" * 20 + "c080c0")
    genesis = build_qbft_genesis(validators=[validator], prefund=["0x" + "22" * 20])
    assert genesis["config"]["qbft"]["blockperiodseconds"] == 2
    assert genesis["config"]["chainId"] == 31417
    assert "shanghaiTime" not in genesis["config"]
    assert set(genesis["alloc"]) == {"11" * 20, "22" * 20}
    with pytest.raises(ConsortiumConfigError):
        qbft_extra_data([])


def test_cli_besu_genesis(tmp_path: Path) -> None:
    from ledger.engines.clique.cli import app

    validators = _addresses(4)
    args = ["besu-genesis", "--period", "3"]
    for address in validators:
        args += ["--validator", address]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "genesis.json")])
    assert result.exit_code == 0, result.output
    genesis = json.loads((tmp_path / "genesis.json").read_text())
    assert genesis["extraData"] == qbft_extra_data(validators)
    assert genesis["config"]["qbft"]["blockperiodseconds"] == 3


def test_wait_until_times_out() -> None:
    with pytest.raises(GovernanceError, match="the moon"):
        wait_until(
            lambda: None, timeout_s=0.2, interval_s=0.05, what="the moon", error=GovernanceError
        )


# --------------------------------------------------------------------------------------
# A real geth Clique network
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def geth() -> GethBinary:
    """geth 1.13.x: found, or built once into the stable cache (a few minutes)."""
    if find_geth() is None and find_go() is None:
        pytest.skip("neither geth 1.13.x nor a Go toolchain to build it is available")
    return ensure_geth()


@pytest.fixture(scope="module")
def funded() -> LocalAccount:
    """An application account prefunded in the genesis."""
    account: LocalAccount = Account.create()
    return account


def _demo_role_addresses() -> list[str]:
    from ledger.keystore import DEMO_ROLE_WALLETS, demo_account

    return [demo_account(i).address for i in DEMO_ROLE_WALLETS.values()]


@contextlib.contextmanager
def _private_tmp_dir() -> Iterator[Path]:
    """A tmp dir outside pytest's basetemp: other pytest sessions on the machine rotate
    (delete) old basetemps, which would pull the datadirs from under running nodes.
    Set GRIDLEDGER_KEEP_TEST_NETWORKS=1 to keep it (logs) after the test."""
    path = Path(tempfile.mkdtemp(prefix="gl-consortium-"))
    try:
        yield path
    finally:
        if not os.environ.get("GRIDLEDGER_KEEP_TEST_NETWORKS"):
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    with _private_tmp_dir() as path:
        yield path


@pytest.fixture(scope="module")
def network(geth: GethBinary, funded: LocalAccount) -> Iterator[Consortium]:
    """A 4-validator network with a 1 s period, stopped after the module."""
    with _private_tmp_dir() as tmp, _running(Consortium(tmp / "consortium")) as consortium:
        consortium.up(
            validators=4,
            period_s=PERIOD_S,
            prefund=[funded.address, *_demo_role_addresses()],
            scrypt_n=TEST_SCRYPT_N,
            geth=geth,
        )
        yield consortium


@contextlib.contextmanager
def _running(consortium: Consortium) -> Iterator[Consortium]:
    """Stop every node of ``consortium`` on the way out."""
    try:
        yield consortium
    finally:
        if consortium.exists():
            consortium.down(timeout_s=15)


def _rpcs(consortium: Consortium) -> list[RpcClient]:
    return [consortium.rpc(node) for node in consortium.load_state().nodes]


def _wait_same_head(rpcs: list[RpcClient], timeout_s: float = 60.0) -> tuple[int, str]:
    """Wait until every node reports the same head (number, hash)."""

    def same() -> tuple[int, str] | None:
        heads = {rpc.head() for rpc in rpcs}
        return heads.pop() if len(heads) == 1 else None

    return wait_until(same, timeout_s=timeout_s, interval_s=0.1, what="one common head")


def _code_at(rpc: RpcClient, address: str) -> str | None:
    code = str(rpc.call("eth_getCode", address, "latest"))
    return code if code != "0x" else None


def _wait_stall(rpc: RpcClient, quiet_s: float, timeout_s: float) -> int:
    """Wait until ``rpc``'s head has not moved for ``quiet_s``; return that head."""
    deadline = time.monotonic() + timeout_s
    head, since = rpc.block_number(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = rpc.block_number()
        if now != head:
            head, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return head
    pytest.fail(f"the chain did not stall within {timeout_s} s (head {head})")


@pytest.mark.consortium
def test_web3_detects_proof_of_authority_without_the_setting(
    network: Consortium, tmp_path: Path
) -> None:
    """Pointed at a member with GRIDLEDGER_POA unset, the app still reads Clique headers
    (97-byte extraData), which plain web3 refuses."""
    state = network.load_state()
    settings = Settings.model_validate(
        {"data_dir": tmp_path, "GRIDLEDGER_RPC_URL": state.nodes[1].rpc_url}
    )
    assert settings.poa is False
    w3 = make_web3(settings)
    block = w3.eth.get_block(1)
    vanity_and_seal = 32 + 65
    assert len(block["proofOfAuthorityData"]) == vanity_and_seal
    assert "extraData" not in block
    assert block["miner"] == "0x0000000000000000000000000000000000000000"


@pytest.mark.consortium
def test_network_is_a_peered_clique_chain(network: Consortium) -> None:
    state = network.load_state()
    assert len(state.nodes) == 4
    validators = {n.validator for n in state.nodes}
    assert len({n.http_port for n in state.nodes} | {n.p2p_port for n in state.nodes}) == 8
    report = network.status()
    assert report.running == 4
    for node in report.nodes:
        assert node.peers == 3, node
        assert node.sealing, node
        assert set(node.signers or []) == validators
    genesis = json.loads(network.genesis_path.read_text())
    assert set(clique_signers_from_extra(genesis["extraData"])) == validators
    rpc = network.rpc(0)
    assert int(rpc.call("eth_chainId"), 16) == CONSORTIUM_CHAIN_ID
    assert rpc.client_version().startswith("Geth/v1.13.")
    # Blocks are sealed by the validators, one signer per block.
    head = network.wait_for_block(6, timeout_s=60)
    sealers = {rpc.signer_of(n) for n in range(1, head + 1)}
    assert sealers <= validators
    assert len(sealers) >= 3
    # Each validator key sits in a scrypt keystore; its password file is private.
    for member in state.nodes:
        node_dir = network.node_dir(member)
        keyfiles = {
            json.loads(f.read_text())["address"].lower(): f
            for f in (node_dir / "keystore").iterdir()
        }
        assert set(keyfiles) == {member.validator.lower()[2:], member.standby.lower()[2:]}
        for keyfile in keyfiles.values():
            assert json.loads(keyfile.read_text())["crypto"]["kdf"] == "scrypt"
            assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
        assert stat.S_IMODE((node_dir / "password.txt").stat().st_mode) == 0o600
        assert member.standby not in validators
        assert network.pid_path(member).is_file()
        assert network.log_path(member).is_file()
    with pytest.raises(ConsortiumAlreadyRunningError):
        network.up()


@pytest.mark.consortium
def test_signed_eip1559_transfer_through_one_member_read_on_another(
    network: Consortium, funded: LocalAccount
) -> None:
    state = network.load_state()
    settings = Settings.model_validate(
        {"data_dir": network.root, "poa": True, "chain_id": CONSORTIUM_CHAIN_ID}
    )
    sender_w3 = make_web3(settings, rpc_url=state.nodes[1].rpc_url)
    reader_w3 = make_web3(settings, rpc_url=state.nodes[2].rpc_url)
    third_w3 = make_web3(settings, rpc_url=state.nodes[3].rpc_url)
    recipient = Account.create().address
    latest = sender_w3.eth.get_block("latest")  # needs the PoA middleware (extraData)
    base_fee = int(latest["baseFeePerGas"])
    tip = int(sender_w3.eth.max_priority_fee)
    assert base_fee >= 7
    assert tip >= 1
    tx = {
        "type": 2,
        "chainId": CONSORTIUM_CHAIN_ID,
        "nonce": sender_w3.eth.get_transaction_count(funded.address),
        "to": recipient,
        "value": 10**18,
        "gas": 21_000,
        "maxPriorityFeePerGas": tip,
        "maxFeePerGas": 2 * base_fee + tip,
    }
    signed = funded.sign_transaction(tx)
    tx_hash = sender_w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = reader_w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.2)
    assert receipt["status"] == 1
    assert receipt["type"] == 2
    assert receipt["from"] == funded.address
    block = reader_w3.eth.get_block(receipt["blockNumber"])
    assert receipt["effectiveGasPrice"] == int(block["baseFeePerGas"]) + tip
    wait_until(
        lambda: True if third_w3.eth.get_balance(recipient) == 10**18 else None,
        timeout_s=30,
        what="the transfer on node3",
    )
    signer = network.rpc(0).signer_of(receipt["blockNumber"])
    assert signer in {n.validator for n in state.nodes}


@pytest.mark.consortium
def test_contract_suite_deploys_on_the_consortium(
    network: Consortium, build: object, tmp_path: Path
) -> None:
    """The paris-compiled suite deploys on the London Clique chain through the
    application's own sender (EIP-1559 fees from the node, 1 wei tip)."""
    from ledger.context import LedgerContext
    from ledger.deploy import deploy_suite
    from ledger.keystore import DEMO_ROLE_WALLETS, demo_account

    state = network.load_state()
    settings = Settings.model_validate(
        {
            "data_dir": tmp_path,
            "GRIDLEDGER_RPC_URL": state.nodes[2].rpc_url,
            "chain_id": CONSORTIUM_CHAIN_ID,
            "poa": True,
            "demo_keys": True,
            "priority_fee_wei": 1,
            "tx_timeout_s": 60.0,
        }
    )
    ctx = LedgerContext(settings, w3=make_web3(settings))
    outcome = deploy_suite(ctx, demo_account(DEMO_ROLE_WALLETS["admin"]))
    manifest = outcome.manifest
    assert manifest.chain_id == CONSORTIUM_CHAIN_ID
    assert manifest.contracts
    other = network.rpc(0)
    for contract in manifest.contracts.values():
        code = wait_until(
            functools.partial(_code_at, other, contract.address),
            timeout_s=30,
            what=f"{contract.name} code on node0",
        )
        assert len(code) > 2


@pytest.mark.consortium
def test_governance_removes_and_readds_a_signer(network: Consortium) -> None:
    state = network.load_state()
    target = state.nodes[3].validator
    with pytest.raises(GovernanceError, match="already a signer"):
        network.propose(target, True)
    removed = network.propose(target, False)
    assert removed.applied
    assert target not in removed.signers_after
    assert len(removed.signers_after) == 3
    assert removed.voters == ["node0", "node1", "node2", "node3"]
    for rpc in _rpcs(network):
        assert target not in rpc.signers()
    # The chain goes on with 3 signers; node3 follows it without sealing.
    head = network.rpc(0).block_number()
    network.wait_for_block(head + 4, timeout_s=60)
    _wait_same_head(_rpcs(network))
    added = network.propose(target, True)
    assert added.applied
    assert added.voters == ["node0", "node1", "node2"]
    assert sorted(added.signers_after) == sorted(n.validator for n in state.nodes)
    # The votes were withdrawn once applied.
    for rpc in _rpcs(network):
        assert rpc.call("clique_proposals") == {}


@pytest.mark.consortium
def test_fault_tolerance_one_then_two_of_four_down(network: Consortium) -> None:
    state = network.load_state()
    rpcs = _rpcs(network)
    live = rpcs[:2]

    # 1 of 4 down (crash): the other 3 keep sealing.
    network.stop_node(3, kill=True)
    assert not network.is_running(3)
    head = max(rpc.block_number() for rpc in rpcs[:3])
    network.wait_for_block(head + 4, nodes=[0, 1, 2], timeout_s=60)

    # Restarted, it catches up to the same head hash.
    network.start_node(3)
    target = rpcs[0].block_number() + 2
    network.wait_for_block(target, nodes=[0, 1, 2, 3], timeout_s=90)
    assert len({rpc.block_hash(target) for rpc in rpcs}) == 1
    _wait_same_head(rpcs)

    # 2 of 4 down: each signer may seal only one of any 3 consecutive blocks
    # (floor(4/2)+1), so the remaining 2 stall after at most 2 more blocks.
    network.stop_node(2)
    network.stop_node(3)
    stalled = _wait_stall(live[0], quiet_s=8 * PERIOD_S + 4, timeout_s=90)
    assert live[1].block_number() == stalled
    assert live[0].block_hash(stalled) == live[1].block_hash(stalled)
    last_two = {live[0].signer_of(stalled), live[0].signer_of(stalled - 1)}
    assert last_two == {state.nodes[0].validator, state.nodes[1].validator}
    time.sleep(3 * PERIOD_S)
    assert live[0].block_number() == stalled

    # Both back: the chain resumes and all 4 agree.
    network.start_node(2)
    network.start_node(3)
    network.wait_for_block(stalled + 3, nodes=[0, 1, 2, 3], timeout_s=90)
    _wait_same_head(rpcs)
    assert network.status().running == 4


@pytest.mark.consortium
def test_restarting_the_miners_revives_an_idle_network(network: Consortium) -> None:
    state = network.load_state()
    rpcs = _rpcs(network)
    for rpc in rpcs:
        rpc.call("miner_stop")
    stalled = _wait_stall(rpcs[0], quiet_s=4 * PERIOD_S + 2, timeout_s=60)

    restart_sealing(state.nodes, attempt=1, rpc_timeout_s=10.0)

    network.wait_for_block(stalled + 2, timeout_s=60)
    _wait_same_head(rpcs)
    block = rpcs[0].call("eth_getBlockByNumber", hex(stalled + 1), False)
    vanity = bytes.fromhex(str(block["extraData"])[2:66]).rstrip(b"\0").decode()
    assert vanity in {f"gridledger {node.name} r1" for node in state.nodes}
    assert all(bool(rpc.call("eth_mining")) for rpc in rpcs)


@pytest.mark.consortium
def test_cli_up_status_propose_down(
    geth: GethBinary, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = private_tmp
    from ledger.engines.clique.cli import app

    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRIDLEDGER_KEYSTORE_SCRYPT_N", str(TEST_SCRYPT_N))
    monkeypatch.setenv("GRIDLEDGER_GETH", str(geth.path))
    runner = CliRunner()
    app_account = Account.create().address
    try:
        result = runner.invoke(
            app, ["up", "--validators", "3", "--period", "1", "--prefund", app_account]
        )
        assert result.exit_code == 0, result.output
        assert "GRIDLEDGER_RPC_URL=http://127.0.0.1:" in result.output
        assert "GRIDLEDGER_CHAIN_ID=31416" in result.output

        again = runner.invoke(app, ["up"])
        assert isinstance(again.exception, ConsortiumAlreadyRunningError)
        assert "already running" in str(again.exception)

        result = runner.invoke(app, ["status", "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert [n["peers"] for n in report["nodes"]] == [2, 2, 2]
        assert [n["sealing"] for n in report["nodes"]] == [True, True, True]
        assert len(report["signers"]) == 3
        second = report["nodes"][1]["validator"]

        table = runner.invoke(app, ["status"])
        assert table.exit_code == 0, table.output
        assert "node1" in table.output

        consortium = Consortium(tmp_path / "data" / "consortium")
        rpc = consortium.rpc(0)
        assert int(rpc.call("eth_getBalance", app_account, "latest"), 16) == DEFAULT_PREFUND_WEI

        result = runner.invoke(app, ["propose", "remove", second])
        assert result.exit_code == 0, result.output
        assert "signers (2)" in result.output
        result = runner.invoke(app, ["propose", "add", second])
        assert result.exit_code == 0, result.output
        assert "signers (3)" in result.output

        result = runner.invoke(app, ["env"])
        assert result.exit_code == 0, result.output
        assert "export GRIDLEDGER_POA=true" in result.output

        result = runner.invoke(app, ["down"])
        assert result.exit_code == 0, result.output
        assert "stopped node0, node1, node2" in result.output
        assert consortium.status().running == 0

        with pytest.raises(ConsortiumConfigError):
            consortium.up(validators=4)
        result = runner.invoke(app, ["down", "--purge", "--yes"])
        assert result.exit_code == 0, result.output
        assert not consortium.exists()
    finally:
        consortium = Consortium(tmp_path / "data" / "consortium")
        if consortium.exists():
            consortium.down(timeout_s=15)
