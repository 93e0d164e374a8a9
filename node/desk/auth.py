"""Who calls the desk's HTTP API.

Staff send ``X-API-Key`` (a keys file ``{key: role}``, ``ledger.webauth``: ``operator`` and
``regulator`` keys act as that role, recorded as ``apikey:<key id>``). A participant signs
each request with its own key instead: the headers ``X-Desk-Address``, ``X-Desk-Timestamp``
(unix seconds), ``X-Desk-Nonce`` (fresh random text, 8..64 characters) and
``X-Desk-Signature`` carry an EIP-191 ``personal_sign`` signature of

    gridledger-desk-v1\\n<METHOD>\\n<path?query>\\n<timestamp>\\n<nonce>\\n<sha256 hex of body>

The desk recovers the signer, checks it is the address, that the timestamp is within
``MAX_SKEW_S`` of its clock and that the signature was not used before (docs/desk.md).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from ledger.addresses import checksum_address
from ledger.errors import ValidationError
from ledger.webauth import ApiKeys, Role, key_id
from node.desk.errors import DeskError
from node.desk.states import Actor, DeskRole

ADDRESS_HEADER = "X-Desk-Address"
TIMESTAMP_HEADER = "X-Desk-Timestamp"
SIGNATURE_HEADER = "X-Desk-Signature"
NONCE_HEADER = "X-Desk-Nonce"
#: How far a request's timestamp may be from the desk's clock (seconds).
MAX_SKEW_S = 300
_STAFF_ROLES = {Role.operator: DeskRole.operator, Role.regulator: DeskRole.regulator}


class AuthError(DeskError):
    """The request is not authenticated (401)."""


def request_message(method: str, target: str, timestamp: int, nonce: str, body: bytes) -> str:
    """The text a participant signs for one request (``target``: path and query)."""
    body_hash = hashlib.sha256(body).hexdigest()
    return f"gridledger-desk-v1\n{method.upper()}\n{target}\n{timestamp}\n{nonce}\n{body_hash}"


def sign_request(
    account: LocalAccount, method: str, target: str, body: bytes = b"", timestamp: int | None = None
) -> dict[str, str]:
    """The three headers that authenticate ``account``'s request."""
    ts = int(time.time()) if timestamp is None else timestamp
    nonce = secrets.token_hex(16)
    message = encode_defunct(text=request_message(method, target, ts, nonce, body))
    signature = account.sign_message(message).signature.to_0x_hex()
    return {
        ADDRESS_HEADER: account.address,
        TIMESTAMP_HEADER: str(ts),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature,
    }


class Authenticator:
    """Turns a request's headers into an :class:`Actor` (or refuses with 401/403)."""

    def __init__(self, keys: ApiKeys) -> None:
        self.keys = keys
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def staff(self, api_key: str) -> Actor:
        role = self.keys.role(api_key)
        if role is None:
            raise AuthError("unknown API key")
        desk_role = _STAFF_ROLES.get(role)
        if desk_role is None:
            raise AuthError(
                f"an API key of role {role} may not use the desk: operator or regulator"
            )
        return Actor(f"apikey:{key_id(api_key)}", desk_role)

    def participant(
        self, headers: dict[str, str], method: str, target: str, body: bytes, now: int | None = None
    ) -> Actor:
        names = (ADDRESS_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
        address, stamp, nonce, signature = (headers.get(h.lower()) for h in names)
        if not (address and stamp and nonce and signature):
            raise AuthError(f"sign the request ({', '.join(names)}) or send a staff X-API-Key")
        if not 8 <= len(nonce) <= 64:
            raise AuthError(f"{NONCE_HEADER} must be 8..64 characters")
        try:
            claimed = checksum_address(address)
            ts = int(stamp)
        except (ValidationError, ValueError) as exc:
            raise AuthError(f"bad signature headers: {exc}") from exc
        at = int(time.time()) if now is None else now
        if abs(at - ts) > MAX_SKEW_S:
            raise AuthError(f"request timestamp {ts} is more than {MAX_SKEW_S} s from {at}")
        message = encode_defunct(text=request_message(method, target, ts, nonce, body))
        try:
            signer = Account.recover_message(message, signature=signature)
        except (ValueError, TypeError) as exc:
            raise AuthError(f"bad signature: {exc}") from exc
        if signer != claimed:
            raise AuthError(f"the signature is not {claimed}'s")
        self._remember(signature.lower(), ts, at)
        return Actor(claimed, DeskRole.participant)

    def _remember(self, signature: str, ts: int, now: int) -> None:
        with self._lock:
            if signature in self._seen:
                raise AuthError("this signature was used already: sign each request anew")
            self._seen[signature] = ts
            while self._seen and next(iter(self._seen.values())) < now - MAX_SKEW_S:
                self._seen.popitem(last=False)
