"""Turning revert data into typed :class:`~ledger.errors.ContractRevertError`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from web3.exceptions import ContractLogicError, Web3RPCError

from ledger.errors import ContractRevertError

_PANIC_CODES = {
    0x01: "assert failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x22: "bad storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to zero-initialised function",
}


def _abi_type(param: Mapping[str, Any]) -> str:
    typ = str(param["type"])
    if typ.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param.get("components", []))
        return f"({inner}){typ[5:]}"
    return typ


class ErrorDecoder:
    """Decodes revert data against every custom error of a set of ABIs."""

    def __init__(self, abis: Iterable[Iterable[Mapping[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {
            bytes.fromhex("08c379a0"): ("Error", ["string"], ["message"]),
            bytes.fromhex("4e487b71"): ("Panic", ["uint256"], ["code"]),
        }
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [_abi_type(p) for p in item.get("inputs", [])]
                names = [p.get("name") or f"arg{i}" for i, p in enumerate(item["inputs"])]
                signature = f"{item['name']}({','.join(types)})"
                selector = function_signature_to_4byte_selector(signature)
                self._errors[selector] = (str(item["name"]), types, names)

    def decode(self, data: bytes | str | None) -> ContractRevertError:
        """Decode ``data`` (0x-hex or bytes); unknown selectors give ``Unknown(data=...)``."""
        raw = _to_bytes(data)
        hexdata = "0x" + raw.hex()
        if len(raw) < 4:
            return ContractRevertError("Unknown", {"data": hexdata}, hexdata)
        entry = self._errors.get(raw[:4])
        if entry is None:
            return ContractRevertError("Unknown", {"data": hexdata}, hexdata)
        name, types, names = entry
        try:
            values = abi_decode(types, raw[4:])
        except DecodingError:
            return ContractRevertError("Unknown", {"data": hexdata}, hexdata)
        args = {
            n: to_checksum_address(v) if t == "address" else v
            for n, t, v in zip(names, types, values, strict=True)
        }
        if name == "Panic":
            code = int(args["code"])
            args = {"code": code, "reason": _PANIC_CODES.get(code, "unknown panic")}
        return ContractRevertError(name, args, hexdata)

    def from_exception(self, exc: BaseException) -> ContractRevertError | None:
        """The decoded revert behind a web3 exception, or None if it is not a revert."""
        data = revert_data(exc)
        if data is None:
            return None
        return self.decode(data)


def _to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    text = data[2:] if data.startswith("0x") else data
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def revert_data(exc: BaseException) -> str | None:
    """Extract the hex revert data a node returned with ``exc``, if any."""
    if isinstance(exc, ContractLogicError):
        data = exc.data
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return data
        # A require() with no reason or a bare revert() carries no data.
        return "0x" if exc.message and "revert" in exc.message.lower() else None
    if isinstance(exc, Web3RPCError) and exc.rpc_response:
        error = exc.rpc_response.get("error")
        if isinstance(error, dict):
            data = error.get("data")
            if isinstance(data, dict):
                data = data.get("data")
            if isinstance(data, str) and data.startswith("0x"):
                return data
            message = str(error.get("message", "")).lower()
            if "execution reverted" in message:
                return "0x"
    return None
