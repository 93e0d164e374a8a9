"""Genesis files: the Clique consortium's (signers in ``extraData``) and a Hyperledger Besu
QBFT network's (RLP-encoded validators), both at the London fork."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from ledger.engines.clique.errors import ConsortiumConfigError
from ledger.engines.clique.rlp import rlp_encode
from ledger.errors import ValidationError

#: The consortium's chain id (the local anvil chain uses 31415).
CONSORTIUM_CHAIN_ID = 31_416
DEFAULT_VALIDATORS = 4
DEFAULT_PERIOD_S = 2
DEFAULT_GAS_LIMIT = 30_000_000
#: One million ether for every prefunded account and validator.
DEFAULT_PREFUND_WEI = 10**24
#: The London base fee floor on an idle chain (7 * 7/8 rounds to 7); start there.
DEFAULT_BASE_FEE_WEI = 7
CLIQUE_EPOCH = 30_000
MAX_VALIDATORS = 32

_EXTRA_VANITY = 32
_EXTRA_SEAL = 65


def normalize_address(address: str) -> str:
    """``address`` as an EIP-55 checksum address.

    Raises:
        ValidationError: not a 20-byte hex address.
    """
    if not is_address(address):
        raise ValidationError(f"address: {address!r} is not a 20-byte hex address")
    return str(to_checksum_address(address))


def clique_extra_data(signers: Sequence[str]) -> str:
    """The genesis ``extraData`` naming ``signers``: 32 vanity bytes, the signers in
    ascending byte order, 65 zero seal bytes."""
    if not signers:
        raise ConsortiumConfigError("a Clique genesis needs at least one signer")
    ordered = sorted({normalize_address(s).lower() for s in signers})
    body = "".join(a[2:] for a in ordered)
    return "0x" + "00" * _EXTRA_VANITY + body + "00" * _EXTRA_SEAL


def clique_signers_from_extra(extra_data: str) -> list[str]:
    """The signer list encoded in a Clique checkpoint ``extraData`` (inverse of
    :func:`clique_extra_data`)."""
    raw = bytes.fromhex(extra_data.removeprefix("0x"))
    body = raw[_EXTRA_VANITY : len(raw) - _EXTRA_SEAL]
    if len(body) % 20:
        raise ValidationError("extraData: signer section is not a multiple of 20 bytes")
    return [str(to_checksum_address(body[i : i + 20])) for i in range(0, len(body), 20)]


def build_genesis(
    *,
    chain_id: int,
    period_s: int,
    signers: Sequence[str],
    prefund: Sequence[str] = (),
    prefund_wei: int = DEFAULT_PREFUND_WEI,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    base_fee_wei: int = DEFAULT_BASE_FEE_WEI,
    epoch: int = CLIQUE_EPOCH,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A London-era Clique genesis whose only signers are ``signers``.

    Every fork up to London (and the Arrow/Gray Glacier no-ops) is active at block 0;
    Shanghai and Cancun are absent because geth's Clique engine rejects them. The
    signers and ``prefund`` accounts each get ``prefund_wei``.
    """
    if period_s < 1:
        raise ConsortiumConfigError("the Clique period must be at least 1 second")
    if gas_limit < 5000:
        raise ConsortiumConfigError("gas limit too small")
    alloc: dict[str, dict[str, str]] = {}
    for account in [*signers, *prefund]:
        alloc[normalize_address(account).lower()[2:]] = {"balance": hex(prefund_wei)}
    config: dict[str, Any] = {"chainId": chain_id}
    for fork in (
        "homesteadBlock",
        "eip150Block",
        "eip155Block",
        "eip158Block",
        "byzantiumBlock",
        "constantinopleBlock",
        "petersburgBlock",
        "istanbulBlock",
        "muirGlacierBlock",
        "berlinBlock",
        "londonBlock",
        "arrowGlacierBlock",
        "grayGlacierBlock",
    ):
        config[fork] = 0
    config["clique"] = {"period": period_s, "epoch": epoch}
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": hex(int(time.time()) if timestamp is None else timestamp),
        "extraData": clique_extra_data(signers),
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": "0x" + "00" * 32,
        "coinbase": "0x" + "00" * 20,
        "baseFeePerGas": hex(base_fee_wei),
        "alloc": alloc,
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }


#: Chain id used by the Hyperledger Besu QBFT templates (docs/besu-qbft).
BESU_QBFT_CHAIN_ID = 31_417
#: The QBFT/IBFT 2.0 genesis mixHash ("Istanbul" digest) Besu requires.
BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"


def qbft_extra_data(validators: Sequence[str]) -> str:
    """The genesis ``extraData`` of a Besu QBFT network:
    ``RLP([32-byte vanity, [validators], no vote, round 0, no seals])`` (what
    ``besu rlp encode --type=QBFT_EXTRA_DATA`` prints for a validator list)."""
    if not validators:
        raise ConsortiumConfigError("a QBFT genesis needs at least one validator")
    ordered = [bytes.fromhex(normalize_address(v)[2:]) for v in validators]
    return "0x" + rlp_encode([bytes(32), ordered, [], 0, []]).hex()


def build_qbft_genesis(
    *,
    validators: Sequence[str],
    chain_id: int = BESU_QBFT_CHAIN_ID,
    period_s: int = DEFAULT_PERIOD_S,
    prefund: Sequence[str] = (),
    prefund_wei: int = DEFAULT_PREFUND_WEI,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    epoch: int = CLIQUE_EPOCH,
    request_timeout_s: int = 4,
) -> dict[str, Any]:
    """A Hyperledger Besu QBFT genesis at the London fork (matching the Clique network
    and the ``paris`` contracts) with ``validators`` and ``prefund`` funded."""
    if period_s < 1:
        raise ConsortiumConfigError("the block period must be at least 1 second")
    alloc = {
        normalize_address(a).lower()[2:]: {"balance": hex(prefund_wei)}
        for a in [*validators, *prefund]
    }
    return {
        "config": {
            "chainId": chain_id,
            "berlinBlock": 0,
            "londonBlock": 0,
            "qbft": {
                "blockperiodseconds": period_s,
                "epochlength": epoch,
                "requesttimeoutseconds": request_timeout_s,
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": BFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        "alloc": alloc,
        "extraData": qbft_extra_data(validators),
    }
