"""Base of the typed contract clients."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from eth_typing import ChecksumAddress
from pydantic import BaseModel
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from ledger.artifacts import ArtifactStore
from ledger.tx import TxSender

_M = TypeVar("_M", bound=BaseModel)


def model_from_values(cls: type[_M], values: Any) -> _M:
    """``cls`` built from a Solidity struct's values, matched to its fields in order."""
    return cls(**dict(zip(cls.model_fields, values, strict=True)))


class ContractClient:
    """Sends and reads one deployed contract through a :class:`TxSender`.

    Subclasses name their artifact in ``ARTIFACT`` and expose typed methods; writes go
    through :meth:`_transact` (decoded reverts), reads through :meth:`_call`.
    """

    ARTIFACT: ClassVar[str]

    def __init__(self, address: str, sender: TxSender, store: ArtifactStore) -> None:
        self._sender = sender
        self._address = Web3.to_checksum_address(address)
        self._contract: Contract = sender.w3.eth.contract(
            address=self._address, abi=store.get(self.ARTIFACT).abi
        )

    @property
    def address(self) -> ChecksumAddress:
        return self._address

    @property
    def contract(self) -> Contract:
        return self._contract

    @property
    def sender(self) -> TxSender:
        return self._sender

    def encode(self, function: str, *args: Any) -> str:
        """Calldata of ``function(*args)``."""
        return str(self._contract.encode_abi(function, args=list(args)))

    def _transact(self, function: str, *args: Any, gas: int | None = None) -> TxReceipt:
        return self._sender.transact(self._address, self.encode(function, *args), gas=gas)

    def _call(self, function: str, *args: Any) -> Any:
        try:
            return self._contract.functions[function](*args).call({"from": self._sender.address})
        except (ContractLogicError, Web3RPCError) as exc:
            decoded = self._sender.decoder.from_exception(exc)
            if decoded is None:
                raise
            raise decoded from exc

    def events(self, receipt: TxReceipt, event: str) -> list[EventData]:
        """The ``event`` logs this contract emitted in ``receipt``."""
        return list(self._contract.events[event]().process_receipt(receipt, errors=DISCARD))
