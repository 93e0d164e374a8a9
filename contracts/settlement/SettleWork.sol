// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ITransmissionTariff} from "../interfaces/ITransmissionTariff.sol";

/// @dev Working values of one trade's settlement (keeps the stack shallow).
struct Work {
    uint256 tradeId;
    uint32 period;
    uint256 executedWh;
    uint256 unexecutedWh;
    uint256 sellerFen;
    uint256 feeFen;
    address substitute;
    uint256 substitutedWh;
    uint256 substituteFen;
    uint256 substituteFeeFen;
    uint256 substituteRoute; // packed like a trade's route
    uint256 substituteSumRate;
    uint256 curtailedWh; // the dispatch result's
    uint16 reasonCode;
    bool failed;
    uint256 refundFen; // the rest of the escrow, refunded to the buyer at close
}

/// @dev The stamp rates of the regions of `route` at time `at` (fetched when first
/// needed; `total` is type(uint256).max when a rate is unavailable).
struct RouteRates {
    uint256 route;
    uint64 at;
    bool fetched;
    uint256 total;
    uint256[] rates;
}

/// @dev What a batch has checked already: settlement of `period` is open, `buyer` and
/// `seller` have meter data of it, and the last route's rates (none of it can change
/// within the transaction; trades formed in one block share their rates' time).
struct Checked {
    uint32 period;
    address buyer;
    address seller;
    RouteRates fee;
}

/// @title SettleWork
/// @notice SettlementEngine's helpers: packed routes (as ITransmissionTariff.cachedRoute
/// packs them: bits 0..7 the length, region k in bits 8+5k..12+5k) and the memo of the
/// last route's stamp rates.
library SettleWork {
    /// @dev Region k of a packed route.
    function region(uint256 route, uint256 k) internal pure returns (uint8) {
        return uint8((route >> (8 + 5 * k)) & 0x1f);
    }

    /// @dev The last region of a packed route.
    function lastRegion(uint256 route) internal pure returns (uint8) {
        return region(route, (route & 0xff) - 1);
    }

    /// @dev A route list, packed.
    function pack(uint8[] memory route) internal pure returns (uint256 packed) {
        packed = route.length;
        for (uint256 k = 0; k < route.length; ++k) {
            packed |= uint256(route[k]) << (8 + 5 * k);
        }
    }

    /// @dev The memo of `c` for (`route`, `at`): the last one if it is the same, else reset.
    function ratesFor(Checked memory c, uint256 route, uint64 at)
        internal
        pure
        returns (RouteRates memory rr)
    {
        rr = c.fee;
        if (rr.fetched && rr.route == route && rr.at == at) return rr;
        rr.route = route;
        rr.at = at;
        rr.fetched = false;
    }

    /// @dev Fetch the rates of `rr` from the tariff (`rateAt` per region).
    function fetch(RouteRates memory rr, ITransmissionTariff tariff) internal view {
        uint256 n = rr.route & 0xff;
        uint256[] memory rates = new uint256[](n);
        uint256 total;
        for (uint256 i = 0; i < n; ++i) {
            try tariff.rateAt(region(rr.route, i), rr.at) returns (uint128 rate) {
                rates[i] = rate;
                total += rate;
            } catch {
                total = type(uint256).max;
                break;
            }
        }
        rr.rates = rates;
        rr.total = total;
        rr.fetched = true;
    }
}
