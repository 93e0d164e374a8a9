"""Every restricted function against every role (and a stranger): only its role passes.

The matrix below is also the README's table ("## Participants"); a test keeps them equal.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.clients.base import ContractClient
from ledger.clients.registry import NodeKind, code
from ledger.errors import ContractRevertError
from ledger.keystore import demo_account
from ledger.settings import PROJECT_ROOT
from tests.conftest import role_account
from tests.contracts.conftest import MARKET_INDEX, STRANGER_INDEX, WIND, Market

ANY = "any"
#: The node named in the call (NODE) itself: every other caller is refused with
#: NotNodeOrVerifier(caller, node) unless it holds the other role allowed.
SELF = "the node itself"
CALLERS = (
    "ADMIN",
    "OPERATOR",
    "VERIFIER",
    "REGULATOR",
    "DISPATCH",
    "METER_ORACLE",
    "CREDIT_AGENCY",
    "CLEARING_BANK",
    "MARKET_CONTRACT",
    "STRANGER",
)
NODE = demo_account(1001).address
SINK = demo_account(1050).address
H = code("H")
ZERO = "0x" + "00" * 20
#: The access root's DEFAULT_ADMIN_ROLE.
ADMIN_ROLE = bytes(32)

#: (contract, function) -> (roles allowed, sample arguments)
MATRIX: dict[tuple[str, str], tuple[tuple[str, ...], tuple[Any, ...]]] = {
    ("NodeRegistry", "register"): ((ANY,), (int(NodeKind.WIND), 0, 3, 10, 0, H, H)),
    ("NodeRegistry", "depositBond"): ((ANY,), (1,)),
    ("NodeRegistry", "withdrawBond"): ((ANY,), (1,)),
    ("NodeRegistry", "submitQualification"): ((ANY,), (H, H, 2**40)),
    ("NodeRegistry", "requestChange"): ((ANY,), (1, 10, 0, H)),
    ("NodeRegistry", "exit"): ((ANY,), ()),
    ("NodeRegistry", "approveNode"): (("VERIFIER",), (NODE,)),
    ("NodeRegistry", "rejectNode"): (("VERIFIER",), (NODE, H)),
    ("NodeRegistry", "approveQualification"): (("VERIFIER",), (NODE, H)),
    ("NodeRegistry", "rejectQualification"): (("VERIFIER",), (NODE, H, H)),
    ("NodeRegistry", "approveChange"): (("VERIFIER",), (NODE,)),
    ("NodeRegistry", "rejectChange"): (("VERIFIER",), (NODE, H)),
    ("NodeRegistry", "setDisplayName"): ((SELF, "VERIFIER"), (NODE, "Wind Farm 1")),
    ("NodeRegistry", "setTradingMarket"): (("ADMIN",), (ZERO,)),
    ("NodeRegistry", "setBondRequirement"): (("OPERATOR",), (0, 1)),
    ("NodeRegistry", "setDefaultCreditLevel"): (("OPERATOR",), (1,)),
    ("NodeRegistry", "setRequiredQualification"): (("OPERATOR",), (0, H, True)),
    ("NodeRegistry", "setInactivityPeriod"): (("OPERATOR",), (60,)),
    ("NodeRegistry", "reclaim"): (("OPERATOR",), (NODE,)),
    ("NodeRegistry", "removeNode"): (("REGULATOR",), (NODE, H)),
    ("NodeRegistry", "banEntity"): (("REGULATOR",), (NODE, H)),
    ("NodeRegistry", "returnHeldBond"): (("REGULATOR",), (NODE,)),
    ("NodeRegistry", "slash"): (("MARKET_CONTRACT", "REGULATOR"), (NODE, 1, SINK, H)),
    ("NodeRegistry", "setCreditLevel"): (("CREDIT_AGENCY",), (NODE, 1)),
    ("NodeRegistry", "reserveBond"): (("MARKET_CONTRACT",), (NODE, 1)),
    ("NodeRegistry", "releaseBond"): (("MARKET_CONTRACT",), (NODE, 1)),
    ("NodeRegistry", "addObligation"): (("MARKET_CONTRACT",), (NODE,)),
    ("NodeRegistry", "removeObligation"): (("MARKET_CONTRACT",), (NODE,)),
    ("NodeRegistry", "openTradeObligations"): (("MARKET_CONTRACT",), (NODE, SINK, 0)),
    ("NodeRegistry", "closeTradeObligations"): (("MARKET_CONTRACT",), (NODE, SINK, 0)),
    ("NodeRegistry", "blockTrading"): (("MARKET_CONTRACT",), (NODE, H)),
    ("NodeRegistry", "unblockTrading"): (("MARKET_CONTRACT",), (NODE, H)),
    ("SettlementToken", "mint"): (("CLEARING_BANK",), (SINK, 1, H)),
    ("SettlementToken", "burn"): (("CLEARING_BANK",), (SINK, 1, H)),
    ("SettlementToken", "transfer"): ((ANY,), (SINK, 0)),
    ("SettlementToken", "approve"): ((ANY,), (SINK, 1)),
    ("SettlementToken", "transferFrom"): ((ANY,), (SINK, SINK, 0)),
}
DENIALS = ("AccessControlUnauthorizedAccount", "UnauthorizedSlasher", "NotNodeOrVerifier")


def caller(name: str) -> LocalAccount:
    if name == "STRANGER":
        return demo_account(STRANGER_INDEX)
    if name == "MARKET_CONTRACT":
        return demo_account(MARKET_INDEX)
    return role_account(name)


def _client(market: Market, contract: str, who: LocalAccount) -> ContractClient:
    cls = type(market.bank) if contract == "SettlementToken" else type(market.verifier)
    return market.ctx.client(cls, who)


def _outcome(client: ContractClient, fn: str, args: tuple[Any, ...]) -> ContractRevertError | None:
    try:
        client.sender.call(client.address, client.encode(fn, *args))
    except ContractRevertError as exc:
        return exc
    return None


def test_matrix_covers_every_state_changing_function(market: Market) -> None:
    for contract in ("NodeRegistry", "SettlementToken"):
        abi = market.ctx.store.get(contract).abi
        writes = {
            item["name"]
            for item in abi
            if item.get("type") == "function"
            and item.get("stateMutability") in ("nonpayable", "payable")
        }
        assert writes == {fn for (c, fn) in MATRIX if c == contract}


@pytest.mark.parametrize("entry", sorted(MATRIX), ids=lambda e: f"{e[0]}.{e[1]}")
def test_role_matrix(market: Market, entry: tuple[str, str]) -> None:
    market.admit(1, WIND)
    contract, fn = entry
    allowed, args = MATRIX[entry]
    if SELF in allowed:
        error = _outcome(_client(market, contract, demo_account(1001)), fn, args)
        assert error is None, f"the node itself denied {fn}: {error}"
    for name in CALLERS:
        who = caller(name)
        error = _outcome(_client(market, contract, who), fn, args)
        if ANY in allowed or name in allowed:
            assert error is None or error.name not in DENIALS, f"{name} denied {fn}: {error}"
        elif SELF in allowed:
            assert error is not None, f"{name} may call {fn}"
            assert (error.name, error.arguments) == (
                "NotNodeOrVerifier",
                {"caller": who.address, "node": NODE},
            ), (name, fn, error.signature)
        elif allowed == ("MARKET_CONTRACT", "REGULATOR"):
            assert error is not None, f"{name} may call {fn}"
            assert error.name == "UnauthorizedSlasher", (name, fn, error.signature)
            assert error.arguments == {"account": who.address}
        else:
            assert error is not None, f"{name} may call {fn}"
            assert error.name == "AccessControlUnauthorizedAccount", (name, fn, error.signature)
            assert error.arguments == {
                "account": who.address,
                "neededRole": ADMIN_ROLE
                if allowed[0] == "ADMIN"
                else bytes(Web3.keccak(text=allowed[0])),
            }


def test_readme_role_table_matches_the_matrix() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Participants", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+\.\w+)` \| ([^|]+) \|", section, flags=re.MULTILINE))
    expected = {
        f"{c}.{fn}": ("any account" if ANY in roles else " or ".join(roles))
        for (c, fn), (roles, _) in MATRIX.items()
    }
    assert {k: v.strip() for k, v in rows.items()} == expected
