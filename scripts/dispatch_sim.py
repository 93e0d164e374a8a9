"""A simulated dispatch center: security-checks trades against inter-region corridor
limits, curtails pro rata, signs the results once with the DISPATCH key (EIP-712
``DispatchBatch``) and returns them to the oracle, which relays them with
``submitResultBatch``.

Model: regions are nodes of a graph whose edges are corridors with a limit in MW (both
directions). A trade of ``energy_wh`` over an interval of ``interval_seconds`` is a flow of
``energy_wh * 3600 / interval_seconds / 1e6`` MW along the shortest path (fewest corridors,
ties by name) from its seller's region to its buyer's. Per interval and corridor, flows in
opposite directions net out; when the net exceeds the limit, every trade flowing in the
dominant direction is scaled by the same factor (pro rata) so the net meets the limit. A
trade crossing several corridors takes its smallest factor; rounds repeat until no corridor
is over (curtailing one corridor relieves others). Executed energy is rounded down.

Reason codes: 0 executed in full, 1 curtailed by a corridor limit, 2 no path between the
regions (nothing executed).

    python -m scripts.dispatch_sim --oracle-url https://127.0.0.1:8600 --period 7 \
        --corridor north:south:300 --corridor south:east:150
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Annotated

import httpx
import typer
from eth_account.signers.local import LocalAccount

from ledger.keystore import DEMO_ROLE_WALLETS, demo_account
from ledger.settings import get_settings
from ledger.tls import InsecureOpt, http_client
from ledger.webauth import API_KEY_HEADER
from node.dispatch.report import oracle_url as default_oracle_url
from oracle import eip712
from oracle.schemas import DispatchResult, DispatchSubmission, SignedDispatchResult, Trade

REASON_EXECUTED = 0
REASON_CORRIDOR = 1
REASON_NO_PATH = 2

Corridors = Mapping[tuple[str, str], float]


def _graph(corridors: Corridors) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    for a, b in corridors:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, []).append(a)
    for neighbours in graph.values():
        neighbours.sort()
    return graph


def path(corridors: Corridors, src: str, dst: str) -> list[str] | None:
    """Regions from ``src`` to ``dst`` over the fewest corridors (None when unconnected)."""
    if src == dst:
        return [src]
    graph = _graph(corridors)
    previous: dict[str, str] = {}
    queue = deque([src])
    seen = {src}
    while queue:
        here = queue.popleft()
        for there in graph.get(here, []):
            if there in seen:
                continue
            seen.add(there)
            previous[there] = here
            if there == dst:
                route = [dst]
                while route[-1] != src:
                    route.append(previous[route[-1]])
                return route[::-1]
            queue.append(there)
    return None


def _limit(corridors: Corridors, a: str, b: str) -> tuple[tuple[str, str], float]:
    if (a, b) in corridors:
        return (a, b), corridors[(a, b)]
    return (b, a), corridors[(b, a)]


def security_check(trades: Iterable[Trade], corridors: Corridors) -> list[DispatchResult]:
    """Results of ``trades`` under ``corridors`` ({(region, region): limit MW})."""
    trades = list(trades)
    factor = {t.trade_id: 1.0 for t in trades}
    hops: dict[int, list[tuple[tuple[str, str], int]]] = {}
    no_path: set[int] = set()
    for t in trades:
        route = path(corridors, t.from_region, t.to_region)
        if route is None:
            no_path.add(t.trade_id)
            factor[t.trade_id] = 0.0
            continue
        legs = []
        for a, b in pairwise(route):
            key, _ = _limit(corridors, a, b)
            legs.append((key, 1 if key == (a, b) else -1))
        hops[t.trade_id] = legs
    by_interval: dict[int, list[Trade]] = {}
    for t in trades:
        if t.trade_id not in no_path:
            by_interval.setdefault(t.interval_start, []).append(t)
    for group in by_interval.values():
        for _ in range(50):
            flows: dict[tuple[str, str], list[tuple[Trade, int, float]]] = {}
            for t in group:
                mw = t.energy_wh * 3600 / t.interval_seconds / 1e6 * factor[t.trade_id]
                for key, sign in hops[t.trade_id]:
                    flows.setdefault(key, []).append((t, sign, mw))
            changed = False
            for key, items in flows.items():
                net = sum(sign * mw for _, sign, mw in items)
                limit = corridors[key]
                if abs(net) <= limit * (1 + 1e-12):
                    continue
                direction = 1 if net > 0 else -1
                dominant = sum(mw for _, sign, mw in items if sign == direction)
                counter = dominant - abs(net)
                scale = max(0.0, (limit + counter) / dominant) if dominant else 0.0
                for t, sign, _mw in items:
                    if sign == direction:
                        factor[t.trade_id] *= scale
                        changed = True
            if not changed:
                break
    results = []
    for t in trades:
        executed = int(t.energy_wh * min(factor[t.trade_id], 1.0))
        if t.trade_id in no_path:
            reason = REASON_NO_PATH
        elif executed < t.energy_wh:
            reason = REASON_CORRIDOR
        else:
            reason = REASON_EXECUTED
        results.append(
            DispatchResult(
                trade_id=t.trade_id,
                period=t.period,
                executed_wh=executed,
                curtailed_wh=t.energy_wh - executed,
                reason_code=reason,
            )
        )
    return results


def sign_result(
    account: LocalAccount, result: DispatchResult, chain_id: int, contract: str
) -> SignedDispatchResult:
    """Sign ``result`` for the DispatchResults ``contract`` on ``chain_id``."""
    separator = eip712.domain_separator(eip712.DISPATCH_DOMAIN_NAME, chain_id, contract)
    digest = eip712.typed_digest(separator, eip712.dispatch_struct_hash(result.message()))
    signature = eip712.sign_digest(bytes(account.key), digest)
    return SignedDispatchResult(result=result, signature="0x" + signature.hex())


def sign_batch(
    account: LocalAccount, results: list[DispatchResult], chain_id: int, contract: str
) -> DispatchSubmission:
    """The oracle's submission of ``results`` with ``account``'s one signature over them all
    (EIP-712 ``DispatchBatch``, what ``DispatchResults.submitResultBatch`` checks)."""
    separator = eip712.domain_separator(eip712.DISPATCH_DOMAIN_NAME, chain_id, contract)
    struct = eip712.dispatch_batch_struct_hash([r.message() for r in results])
    signature = eip712.sign_digest(bytes(account.key), eip712.typed_digest(separator, struct))
    return DispatchSubmission(
        chain_id=chain_id,
        verifying_contract=contract,
        results=results,
        signature="0x" + signature.hex(),
    )


def parse_corridor(text: str) -> tuple[tuple[str, str], float]:
    a, b, mw = text.split(":")
    return (a, b), float(mw)


def refused_line(resp: httpx.Response, count: int) -> str:
    """One line saying the oracle refused all ``count`` results, and why."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "reason" in body:
        why = f"{body['reason']}: {body.get('detail', '')}".rstrip(": ")
    else:
        why = f"HTTP {resp.status_code}"
    return f"oracle refused {count} of {count} dispatch results ({why})"


app = typer.Typer(help="Simulated dispatch center.")


@app.command()
def run(
    period: Annotated[int, typer.Option(help="Delivery period to check.")],
    corridor: Annotated[list[str], typer.Option(help="REGION:REGION:MW, repeatable.")],
    oracle_url: Annotated[
        str | None, typer.Option(help="The oracle API (default: the oracle settings').")
    ] = None,
    insecure_http: InsecureOpt = False,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="GRIDLEDGER_DISPATCH_API_KEY", help="The oracle's API key of role dispatch."
        ),
    ] = None,
) -> None:
    """Fetch the period's trades, check them, sign with the demo DISPATCH key, submit
    (HTTPS verified against the consortium CA, the dispatch client certificate presented).
    Exits 1 with a one-line summary when the oracle refuses the results."""
    corridors = dict(parse_corridor(c) for c in corridor)
    account = demo_account(DEMO_ROLE_WALLETS["dispatch"])
    settings = get_settings()
    url = oracle_url or default_oracle_url(settings)
    with http_client(settings, url, client_name="dispatch", insecure_http=insecure_http) as http:
        if api_key:
            http.headers[API_KEY_HEADER] = api_key
        health = http.get("/health").raise_for_status().json()
        chain_id, contract = int(health["chainId"]), str(health["dispatchResults"])
        raw = http.get("/dispatch/trades", params={"period": period}).raise_for_status().json()
        trades = [Trade.model_validate(t) for t in raw]
        if not trades:
            typer.echo(f"no trades in period {period}")
            return
        sub = sign_batch(account, security_check(trades, corridors), chain_id, contract)
        resp = http.post("/dispatch/results", json=sub.model_dump(mode="json", by_alias=True))
        if not resp.is_success:
            typer.echo(refused_line(resp, len(sub.results)), err=True)
            raise typer.Exit(1)
        typer.echo(f"{resp.status_code} {resp.text}")


if __name__ == "__main__":
    app()
