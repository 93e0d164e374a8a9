"""Who may call which oracle route: API keys (``X-API-Key``, keys file
``GRIDLEDGER_ORACLE_API_KEYS_FILE``) with the roles of :mod:`ledger.webauth`.

Readings and dispatch results need no key: every reading is signed by a registered meter
and every result by a DISPATCH account (EIP-712, checked against the chain), which is the
stronger proof. Reading a node's signed readings (``/proofs``) needs an auditor or
regulator, the review queue an operator, the period's trades a dispatch key (README "Web
access" has the route x role table).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ledger.webauth import EVERYONE, ROLES, ApiKeys, Requires, Role, access
from oracle.errors import OracleError

PUBLIC = EVERYONE
#: Anyone may send; each reading counts only with its registered meter's signature.
METER_SIGNED = access("meter signature", *ROLES)
#: Anyone may send; each result counts only with a DISPATCH account's signature.
DISPATCH_SIGNED = access("DISPATCH signature", *ROLES)
PROOFS = access("auditor", Role.auditor, Role.regulator)
REVIEW = access("operator", Role.operator)
DISPATCH = access("dispatch", Role.dispatch)


def _keys(request: Request) -> ApiKeys:
    keys: ApiKeys = request.app.state.api_keys
    return keys


def _deny(status: int, detail: str) -> Exception:
    return OracleError(status, "unknown_api_key" if status == 401 else "role_not_admitted", detail)


AnyRole = Annotated[Role, Depends(Requires(PUBLIC, _keys, _deny))]
MeterSigned = Annotated[Role, Depends(Requires(METER_SIGNED, _keys, _deny))]
DispatchSigned = Annotated[Role, Depends(Requires(DISPATCH_SIGNED, _keys, _deny))]
AuditorRole = Annotated[Role, Depends(Requires(PROOFS, _keys, _deny))]
OperatorRole = Annotated[Role, Depends(Requires(REVIEW, _keys, _deny))]
DispatchRole = Annotated[Role, Depends(Requires(DISPATCH, _keys, _deny))]
