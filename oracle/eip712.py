"""EIP-712 typed data of meter readings and dispatch results, shared by meters, simulators
and the oracle.

The reference encoding is :func:`eth_account.messages.encode_typed_data`; the oracle's hot
path computes the same digest directly (every field is a static ABI type, so the struct
hash is keccak256 of 32-byte words), and tests keep the two equal. Signatures are 65 bytes
``r || s || v`` with ``v`` 27 or 28 and a low ``s`` (as OpenZeppelin's ECDSA requires).
"""

from __future__ import annotations

from typing import Any, Final

import coincurve
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address

from ledger.errors import ValidationError
from ledger.merkle import node_total_leaf as node_total_leaf

#: secp256k1 group order and half of it (the low-s bound).
SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N: Final = SECP256K1_N // 2

METER_DOMAIN_NAME: Final = "GridLedger MeterOracle"
DISPATCH_DOMAIN_NAME: Final = "GridLedger DispatchResults"
DOMAIN_VERSION: Final = "1"

#: EIP-712 fields of ``MeterReading`` (names as signed, in order).
METER_READING_FIELDS: Final = (
    ("meterId", "bytes32"),
    ("intervalStart", "uint64"),
    ("intervalSeconds", "uint32"),
    ("importWh", "uint64"),
    ("exportWh", "uint64"),
    ("reactiveVarh", "uint64"),
    ("importRegisterWh", "uint64"),
    ("exportRegisterWh", "uint64"),
    ("sequence", "uint64"),
    ("powerFactorMilli", "uint16"),
    ("voltageL1Dv", "uint32"),
    ("voltageL2Dv", "uint32"),
    ("voltageL3Dv", "uint32"),
    ("currentL1Ma", "uint64"),
    ("currentL2Ma", "uint64"),
    ("currentL3Ma", "uint64"),
)
#: EIP-712 fields of ``DispatchResult``.
DISPATCH_RESULT_FIELDS: Final = (
    ("tradeId", "uint256"),
    ("period", "uint64"),
    ("executedWh", "uint64"),
    ("curtailedWh", "uint64"),
    ("reasonCode", "uint16"),
)


def _type_string(name: str, fields: tuple[tuple[str, str], ...]) -> str:
    return f"{name}(" + ",".join(f"{t} {n}" for n, t in fields) + ")"


METER_READING_TYPE: Final = _type_string("MeterReading", METER_READING_FIELDS)
DISPATCH_RESULT_TYPE: Final = _type_string("DispatchResult", DISPATCH_RESULT_FIELDS)
METER_READING_TYPEHASH: Final = keccak(METER_READING_TYPE.encode())
DISPATCH_RESULT_TYPEHASH: Final = keccak(DISPATCH_RESULT_TYPE.encode())
#: A batch of results signed once: ``DispatchBatch(DispatchResult[] results)``.
DISPATCH_BATCH_TYPE: Final = "DispatchBatch(DispatchResult[] results)" + DISPATCH_RESULT_TYPE
DISPATCH_BATCH_TYPEHASH: Final = keccak(DISPATCH_BATCH_TYPE.encode())
_DOMAIN_TYPEHASH: Final = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


class SignatureError(ValidationError):
    """A signature is malformed, malleable (high s) or does not recover."""


def domain(name: str, chain_id: int, contract: str) -> dict[str, Any]:
    """The EIP-712 domain of ``contract`` on ``chain_id``."""
    return {
        "name": name,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(contract),
    }


def domain_separator(name: str, chain_id: int, contract: str) -> bytes:
    """keccak256 of the encoded domain (what the contracts' ``domainSeparator()`` returns)."""
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(name.encode())
        + keccak(DOMAIN_VERSION.encode())
        + chain_id.to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(to_checksum_address(contract)[2:])
    )


def _word(value: Any, abi_type: str) -> bytes:
    if abi_type == "bytes32":
        raw = bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)
        if len(raw) != 32:
            raise ValidationError(f"bytes32 value has {len(raw)} bytes")
        return raw
    bits = int(abi_type.removeprefix("uint"))
    number = int(value)
    if not 0 <= number < (1 << bits):
        raise ValidationError(f"{number} does not fit {abi_type}")
    return number.to_bytes(32, "big")


def struct_hash(
    typehash: bytes, fields: tuple[tuple[str, str], ...], message: dict[str, Any]
) -> bytes:
    """EIP-712 ``hashStruct`` of a struct made only of static fields."""
    return keccak(typehash + b"".join(_word(message[n], t) for n, t in fields))


def typed_digest(separator: bytes, struct: bytes) -> bytes:
    """keccak256("\\x19\\x01" || domainSeparator || structHash)."""
    return keccak(b"\x19\x01" + separator + struct)


def reading_struct_hash(message: dict[str, Any]) -> bytes:
    """Struct hash of a ``MeterReading`` message (camelCase keys)."""
    return struct_hash(METER_READING_TYPEHASH, METER_READING_FIELDS, message)


def dispatch_struct_hash(message: dict[str, Any]) -> bytes:
    """Struct hash of a ``DispatchResult`` message (camelCase keys)."""
    return struct_hash(DISPATCH_RESULT_TYPEHASH, DISPATCH_RESULT_FIELDS, message)


def typed_data(
    primary: str,
    fields: tuple[tuple[str, str], ...],
    domain_name: str,
    chain_id: int,
    contract: str,
    message: dict[str, Any],
) -> dict[str, Any]:
    """The full EIP-712 JSON (as wallets and ``eth_signTypedData_v4`` take it)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: [{"name": n, "type": t} for n, t in fields],
        },
        "primaryType": primary,
        "domain": domain(domain_name, chain_id, contract),
        "message": message,
    }


def reading_typed_data(message: dict[str, Any], chain_id: int, contract: str) -> dict[str, Any]:
    return typed_data(
        "MeterReading", METER_READING_FIELDS, METER_DOMAIN_NAME, chain_id, contract, message
    )


def dispatch_typed_data(message: dict[str, Any], chain_id: int, contract: str) -> dict[str, Any]:
    return typed_data(
        "DispatchResult", DISPATCH_RESULT_FIELDS, DISPATCH_DOMAIN_NAME, chain_id, contract, message
    )


def dispatch_batch_struct_hash(messages: list[dict[str, Any]]) -> bytes:
    """Struct hash of a ``DispatchBatch`` of ``DispatchResult`` messages (camelCase keys)."""
    return keccak(
        DISPATCH_BATCH_TYPEHASH + keccak(b"".join(dispatch_struct_hash(m) for m in messages))
    )


def dispatch_batch_typed_data(
    messages: list[dict[str, Any]], chain_id: int, contract: str
) -> dict[str, Any]:
    """The full EIP-712 JSON of a ``DispatchBatch`` (one signature over all its results)."""
    full = typed_data(
        "DispatchBatch",
        (("results", "DispatchResult[]"),),
        DISPATCH_DOMAIN_NAME,
        chain_id,
        contract,
        {"results": messages},
    )
    full["types"]["DispatchResult"] = [{"name": n, "type": t} for n, t in DISPATCH_RESULT_FIELDS]
    return full


def reference_digest(full: dict[str, Any]) -> bytes:
    """The digest per eth-account's EIP-712 implementation (the reference)."""
    signable = encode_typed_data(full_message=full)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_typed(account: LocalAccount, full: dict[str, Any]) -> bytes:
    """Sign EIP-712 data with ``account`` (eth-account; always low s, v 27/28)."""
    return bytes(account.sign_typed_data(full_message=full).signature)


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """Sign a 32-byte digest directly (fast path for simulators): ``r || s || v``."""
    sig = coincurve.PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return sig[:64] + bytes([sig[64] + 27])


def recover_signer(digest: bytes, signature: bytes) -> str:
    """The checksummed address that signed ``digest``.

    Raises:
        SignatureError: not 65 bytes, ``v`` not 27/28, ``s`` high or zero, ``r`` out of
            range, or no key recovers.
    """
    if len(signature) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError(f"signature v must be 27 or 28, got {v}")
    if not 0 < r < SECP256K1_N or not 0 < s < SECP256K1_N:
        raise SignatureError("signature r or s out of range")
    if s > SECP256K1_HALF_N:
        raise SignatureError("malleable signature: s is in the upper half of the curve order")
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([v - 27]), digest, hasher=None
        )
    except Exception as exc:
        raise SignatureError(f"signature does not recover: {exc}") from exc
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:])


def reading_leaf(struct: bytes, signature: bytes) -> bytes:
    """Merkle leaf of a signed reading (OpenZeppelin double hash).

    ``keccak256(bytes.concat(keccak256(abi.encode(structHash, keccak256(signature)))))``.
    """
    return keccak(keccak(struct + keccak(signature)))


def meter_id_bytes(label: str) -> bytes:
    """A meter id: 0x-prefixed 32-byte hex as is, else the UTF-8 label right-padded to 32."""
    if label.startswith("0x") and len(label) == 66:
        return bytes.fromhex(label[2:])
    raw = label.encode()
    if not raw or len(raw) > 32:
        raise ValidationError(f"meter label must be 1-32 bytes: {label!r}")
    return raw.ljust(32, b"\x00")
