from __future__ import annotations

from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.clients.oracle import READING_INT_FIELDS, MeterOracleClient, reading_tuple
from ledger.context import LedgerContext
from oracle import eip712
from oracle.merkle import MerkleTree, verify
from oracle.schemas import MeterReading

U64 = st.integers(min_value=0, max_value=2**63 - 1)
U32 = st.integers(min_value=0, max_value=2**32 - 1)
READINGS = st.fixed_dictionaries(
    dict(
        meter_id=st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex()),
        interval_start=U64,
        interval_seconds=st.integers(min_value=1, max_value=2**32 - 1),
        import_wh=U64,
        export_wh=U64,
        reactive_varh=U64,
        import_register_wh=U64,
        export_register_wh=U64,
        sequence=U64,
        power_factor_milli=st.integers(min_value=0, max_value=2**16 - 1),
        voltage_l1_dv=U32,
        voltage_l2_dv=U32,
        voltage_l3_dv=U32,
        current_l1_ma=U64,
        current_l2_ma=U64,
        current_l3_ma=U64,
    )
).map(lambda kw: MeterReading(**kw))
CONTRACT = "0x" + "22" * 20


@settings(max_examples=30, deadline=None)
@given(READINGS)
def test_fast_digest_equals_eth_account_typed_data(reading: MeterReading) -> None:
    full = eip712.reading_typed_data(reading.message(), 31415, CONTRACT)
    separator = eip712.domain_separator(eip712.METER_DOMAIN_NAME, 31415, CONTRACT)
    fast = eip712.typed_digest(separator, eip712.reading_struct_hash(reading.message()))
    assert fast == eip712.reference_digest(full)


def test_digest_leaf_and_separator_match_the_contract(
    ctx: LedgerContext, operator_oracle: MeterOracleClient
) -> None:
    reading = MeterReading(
        meter_id="0x" + "ab" * 32,
        interval_start=1_700_000_100,
        interval_seconds=900,
        import_wh=1,
        export_wh=2,
        reactive_varh=3,
        import_register_wh=4,
        export_register_wh=5,
        sequence=6,
        power_factor_milli=950,
        voltage_l1_dv=100_100,
        voltage_l2_dv=99_900,
        voltage_l3_dv=100_050,
        current_l1_ma=7,
        current_l2_ma=8,
        current_l3_ma=9,
    )
    chain_id = ctx.w3.eth.chain_id
    address = operator_oracle.address
    separator = eip712.domain_separator(eip712.METER_DOMAIN_NAME, chain_id, address)
    assert operator_oracle.domain_separator() == separator
    struct = eip712.reading_struct_hash(reading.message())
    digest = eip712.typed_digest(separator, struct)
    assert operator_oracle.reading_digest(reading_tuple(reading.message())) == digest
    account = Account.create()
    signature = eip712.sign_typed(
        account, eip712.reading_typed_data(reading.message(), chain_id, address)
    )
    assert eip712.recover_signer(digest, signature) == account.address
    assert operator_oracle.reading_leaf(
        reading_tuple(reading.message()), signature
    ) == eip712.reading_leaf(struct, signature)
    total = (account.address, 7, 10, 3, 2, b"\x01" * 32)
    assert operator_oracle.node_total_leaf(total) == eip712.node_total_leaf(*total)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40, unique=True))
def test_every_leaf_proves_against_the_root(leaves: list[bytes]) -> None:
    tree = MerkleTree(leaves)
    for i, leaf in enumerate(leaves):
        assert verify(tree.proof(i), tree.root, leaf)
    assert not verify(tree.proof(0), tree.root, b"\x00" * 32) or leaves[0] == b"\x00" * 32


def test_high_s_and_bad_v_are_refused() -> None:
    account = Account.create()
    digest = b"\x07" * 32
    sig = eip712.sign_digest(bytes(account.key), digest)
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    high = r + (eip712.SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    import pytest

    with pytest.raises(eip712.SignatureError, match="malleable"):
        eip712.recover_signer(digest, high)
    with pytest.raises(eip712.SignatureError, match="v must be"):
        eip712.recover_signer(digest, sig[:64] + b"\x01")
    with pytest.raises(eip712.SignatureError, match="65 bytes"):
        eip712.recover_signer(digest, sig[:64])


def test_abi_tuple_follows_the_signed_fields() -> None:
    """The client's ABI tuple and the EIP-712 type list the same fields in the same order."""
    assert tuple(n for n, _ in eip712.METER_READING_FIELDS[1:]) == READING_INT_FIELDS
    assert eip712.METER_READING_TYPE.endswith(
        "uint16 powerFactorMilli,uint32 voltageL1Dv,uint32 voltageL2Dv,uint32 voltageL3Dv,"
        "uint64 currentL1Ma,uint64 currentL2Ma,uint64 currentL3Ma)"
    )
