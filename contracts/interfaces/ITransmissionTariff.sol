// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ITransmissionTariff
/// @notice Postage-stamp transmission tariffs (mechanism 4, formula 1): the REGULATOR
/// publishes the grid's regions (at most 32, ids 0..31), the undirected region graph and a
/// stamp rate per region (fen/MWh) with the time it takes effect. Energy routed over the
/// regions R1 -> ... -> Rk pays the stamp of every region on the path, origin and
/// destination included: S = Q x (rate(R1) + ... + rate(Rk)), on the cheapest path.
/// @dev Every search is bounded by the 32-region limit (O(32^2) Dijkstra over bitmasks);
/// nothing here grows with the number of listings or trades.
///
/// Cheapest path and tie-break: the route minimises the sum of the stamp rates of its
/// regions; among routes of equal sum, the one with fewer regions wins; among those, going
/// backwards from the destination, the lower-numbered previous region wins at every step.
/// A trade inside one region (from == to) has the route [from] and pays that one stamp.
/// A region that has no rate in effect at the time asked is not transited; as an endpoint
/// it reverts NoStampRate.
///
/// Rates over time: each region keeps its last RATE_HISTORY rate entries (a ring) and at
/// most one pending entry (effective in the future). Scheduling while a change is pending
/// replaces the pending one; otherwise a new entry is appended (dropping the oldest once the
/// ring is full). rateAt(region, t) is the newest entry with effectiveFrom <= t, exact for
/// every t from the oldest retained entry on; earlier times revert RateHistoryUnavailable.
/// The full history is in the StampRateScheduled events.
///
/// Fees round down: feeFen = floor(energyWh x sumRateFenPerMwh / 1_000_000).
interface ITransmissionTariff {
    /// @notice One stamp-rate entry of a region.
    /// @param rateFenPerMwh The stamp rate, fen per MWh.
    /// @param effectiveFrom Unix time from which the rate applies (inclusive).
    struct StampRate {
        uint128 rateFenPerMwh;
        uint64 effectiveFrom;
    }

    /// @notice A region as the views report it.
    /// @param id The region id, 0..31.
    /// @param name The region's name (UTF-8, right-padded with zero bytes).
    /// @param neighbourMask Bit i is set when the region is adjacent to region i.
    /// @param hasRate Whether a stamp rate is in effect now.
    /// @param rateFenPerMwh The stamp rate in effect now (0 when hasRate is false).
    /// @param pendingRateFenPerMwh A scheduled, not yet effective rate (0 when none).
    /// @param pendingFrom When the pending rate takes effect (0 when none).
    struct RegionInfo {
        uint8 id;
        bytes32 name;
        uint32 neighbourMask;
        bool hasRate;
        uint128 rateFenPerMwh;
        uint128 pendingRateFenPerMwh;
        uint64 pendingFrom;
    }

    /// @notice A region was defined or renamed.
    /// @param region The region id.
    /// @param name The new name.
    /// @param previousName The name before (zero when the region is new).
    event RegionDefined(uint8 indexed region, bytes32 name, bytes32 previousName);

    /// @notice An undirected edge between two regions was added or removed.
    /// @param regionA The lower region id of the pair.
    /// @param regionB The higher region id of the pair.
    /// @param connected True when the edge now exists, false when it was removed.
    event EdgeSet(uint8 indexed regionA, uint8 indexed regionB, bool connected);

    /// @notice A stamp rate was scheduled for a region.
    /// @param region The region id.
    /// @param rateFenPerMwh The stamp rate, fen per MWh.
    /// @param effectiveFrom Unix time from which it applies (the block time when 0 was given).
    /// @param replacedPending True when it replaced a pending, not yet effective rate.
    /// @param replacedRateFenPerMwh The replaced pending rate (0 when none was replaced).
    /// @param replacedFrom The replaced pending rate's effective time (0 when none).
    event StampRateScheduled(
        uint8 indexed region,
        uint128 rateFenPerMwh,
        uint64 effectiveFrom,
        bool replacedPending,
        uint128 replacedRateFenPerMwh,
        uint64 replacedFrom
    );

    /// @notice The region id is not below 32.
    error RegionOutOfRange(uint8 region, uint8 maxRegions);
    /// @notice No region with this id is defined (or the id is not below 32).
    error UnknownRegion(uint8 region);
    /// @notice A region's name must not be empty.
    error EmptyRegionName(uint8 region);
    /// @notice An edge must join two different regions.
    error SelfLoop(uint8 region);
    /// @notice A rate cannot take effect before the block that schedules it.
    error EffectiveTimeInPast(uint8 region, uint64 effectiveFrom, uint64 blockTime);
    /// @notice No route joins the two regions over regions with a rate in effect.
    error NoRoute(uint8 from, uint8 to);
    /// @notice The region has no stamp rate in effect at time `at`.
    error NoStampRate(uint8 region, uint64 at);
    /// @notice Time `at` precedes the oldest rate entry the region still keeps.
    error RateHistoryUnavailable(uint8 region, uint64 at, uint64 oldestKnownFrom);
    /// @notice A route passed in is empty, repeats a region or uses a missing edge.
    error InvalidRoute(uint256 index, uint8 region);

    /// @notice Define region `region` (0..31) named `name`, or rename it. REGULATOR only.
    function defineRegion(uint8 region, bytes32 name) external;

    /// @notice Add (`connected`) or remove the undirected edge between two defined regions.
    /// Idempotent. REGULATOR only.
    function setEdge(uint8 regionA, uint8 regionB, bool connected) external;

    /// @notice Schedule `rateFenPerMwh` for `region` from `effectiveFrom` (0 means the block
    /// time; otherwise not before it). Replaces a pending rate. REGULATOR only.
    function scheduleStampRate(uint8 region, uint128 rateFenPerMwh, uint64 effectiveFrom)
        external;

    /// @notice The maximum number of regions (32).
    function MAX_REGIONS() external pure returns (uint8);

    /// @notice How many rate entries each region keeps.
    function RATE_HISTORY() external pure returns (uint8);

    /// @notice Bit i is set when region i is defined.
    function definedMask() external view returns (uint32);

    /// @notice The defined region ids in increasing order (at most 32).
    function regionIds() external view returns (uint8[] memory ids);

    /// @notice One defined region (reverts UnknownRegion).
    function region(uint8 id) external view returns (RegionInfo memory info);

    /// @notice The rate entries `region` keeps, oldest first (at most RATE_HISTORY).
    /// @return entries The entries.
    /// @return scheduledCount How many entries were ever scheduled (more than kept when
    /// the ring has wrapped; replacements of a pending rate do not count).
    function rateHistory(uint8 region)
        external
        view
        returns (StampRate[] memory entries, uint256 scheduledCount);

    /// @notice The stamp rate of `region` in effect at time `at` (see the history rule).
    function rateAt(uint8 region, uint64 at) external view returns (uint128 rateFenPerMwh);

    /// @notice The cheapest route between two regions at the current block time.
    /// @return route The regions on the path, `from` first and `to` last.
    /// @return sumRateFenPerMwh The sum of their stamp rates.
    function cheapestRoute(uint8 from, uint8 to)
        external
        view
        returns (uint8[] memory route, uint256 sumRateFenPerMwh);

    /// @notice The cheapest route between two regions with the rates in effect at `at`
    /// (the graph is the current one: edges have no history).
    function cheapestRouteAt(uint8 from, uint8 to, uint64 at)
        external
        view
        returns (uint8[] memory route, uint256 sumRateFenPerMwh);

    /// @notice Formula 1 now: the fee of moving `energyWh` on the cheapest route.
    /// @return feeFen floor(energyWh x sumRateFenPerMwh / 1_000_000).
    /// @return route The cheapest route.
    /// @return sumRateFenPerMwh The sum of the stamp rates on it.
    function transmissionFeeFen(uint8 from, uint8 to, uint256 energyWh)
        external
        view
        returns (uint256 feeFen, uint8[] memory route, uint256 sumRateFenPerMwh);

    /// @notice The cheapest route from `from` to `to` now and its stamp-rate sum, as
    /// cheapestRoute, memoised: the search runs once per pair after the REGULATOR changes
    /// the graph or a rate, or a scheduled rate takes effect, not on every call. Anyone may
    /// call it (it only fills the memo). Reverts as cheapestRoute.
    /// @return packedRoute The route's length in bits 0..7 and region k in bits 8+5k..12+5k.
    /// @return sumRateFenPerMwh Sum of the route's stamp rates in effect now, fen/MWh.
    function cachedRoute(uint8 from, uint8 to)
        external
        returns (uint256 packedRoute, uint256 sumRateFenPerMwh);

    /// @notice The sum of the stamp rates at `at` of a given route, checked region by region
    /// (defined, distinct, adjacent in order, rate in effect). For audits of stored routes.
    function routeRateAt(uint8[] calldata route, uint64 at)
        external
        view
        returns (uint256 sumRateFenPerMwh);

    /// @notice The rounding rule of formula 1: floor(energyWh x sumRateFenPerMwh / 1e6).
    function feeFen(uint256 energyWh, uint256 sumRateFenPerMwh)
        external
        pure
        returns (uint256);
}
