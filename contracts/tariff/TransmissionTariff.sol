// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {ITransmissionTariff} from "../interfaces/ITransmissionTariff.sol";

/// @title TransmissionTariff
/// @notice Postage-stamp transmission tariffs on the cheapest path (see ITransmissionTariff).
/// @dev Storage is fixed-size: 32 names, 32 packed adjacency masks (4 slots), 32 rings of
/// RATE_HISTORY entries and 32 packed counters (4 slots). The route search is Dijkstra over
/// node weights with bitmask sets: at most 32 extractions, each scanning at most 32 ids.
contract TransmissionTariff is ITransmissionTariff, MarketAccessed {
    using SafeCast for uint256;

    uint8 private constant _MAX_REGIONS = 32;
    uint8 private constant _RATE_HISTORY = 4;
    /// @dev Bit positions indexed by the de Bruijn hash of an isolated 32-bit bit:
    /// index = _DE_BRUIJN[((bit * _DE_BRUIJN_MUL) mod 2^32) >> 27].
    uint256 private constant _DE_BRUIJN_MUL = 0x077CB531;
    bytes32 private constant _DE_BRUIJN =
        0x00011c021d0e18031e16140f191104081f1b0d17151310071a0c12060b050a09;

    uint32 private _defined;
    uint32[32] private _adjacency;
    bytes32[32] private _names;
    StampRate[4][32] private _rates;
    /// @dev Entries ever appended per region; the newest is at (count - 1) % RATE_HISTORY.
    uint32[32] private _rateCount;
    /// @dev Bumped by every regulator write and by the first cachedRoute once a scheduled
    /// rate took effect; a cached route of another version is stale.
    uint32 private _version;
    /// @dev Same slot: until when the rates in effect stay as they are (the earliest
    /// future effective time of a pending rate, exclusive; 0: to be computed).
    uint56 private _ratesValidUntil;
    /// @dev Cached cheapest route per (from << 5 | to), one word: the packed route (bits
    /// 0..167, see cachedRoute), its stamp-rate sum (bits 168..223) and the version it was
    /// computed at (bits 224..255).
    mapping(uint256 pair => uint256) private _routeCache;

    /// @param access_ The suite's access root.
    constructor(IMarketAccess access_) MarketAccessed(access_) {}

    // ------------------------------------------------------------------ regulator writes

    /// @inheritdoc ITransmissionTariff
    function defineRegion(uint8 region_, bytes32 name) external onlyRole(Roles.REGULATOR) {
        if (region_ >= _MAX_REGIONS) revert RegionOutOfRange(region_, _MAX_REGIONS);
        if (name == bytes32(0)) revert EmptyRegionName(region_);
        bytes32 previous = _names[region_];
        _names[region_] = name;
        _defined |= uint32(1) << region_;
        _bump();
        emit RegionDefined(region_, name, previous);
    }

    /// @inheritdoc ITransmissionTariff
    function setEdge(uint8 regionA, uint8 regionB, bool connected)
        external
        onlyRole(Roles.REGULATOR)
    {
        _requireRegion(regionA);
        _requireRegion(regionB);
        if (regionA == regionB) revert SelfLoop(regionA);
        (uint8 lo, uint8 hi) = regionA < regionB ? (regionA, regionB) : (regionB, regionA);
        if (connected) {
            _adjacency[lo] |= uint32(1) << hi;
            _adjacency[hi] |= uint32(1) << lo;
        } else {
            _adjacency[lo] &= ~(uint32(1) << hi);
            _adjacency[hi] &= ~(uint32(1) << lo);
        }
        _bump();
        emit EdgeSet(lo, hi, connected);
    }

    /// @inheritdoc ITransmissionTariff
    function scheduleStampRate(uint8 region_, uint128 rateFenPerMwh, uint64 effectiveFrom)
        external
        onlyRole(Roles.REGULATOR)
    {
        _requireRegion(region_);
        uint64 nowTs = uint64(block.timestamp);
        if (effectiveFrom == 0) {
            effectiveFrom = nowTs;
        } else if (effectiveFrom < nowTs) {
            revert EffectiveTimeInPast(region_, effectiveFrom, nowTs);
        }
        uint32 count = _rateCount[region_];
        bool replaced;
        StampRate memory old;
        if (count != 0) {
            StampRate storage newest = _rates[region_][(count - 1) % _RATE_HISTORY];
            if (newest.effectiveFrom > nowTs) {
                old = newest;
                replaced = true;
                newest.rateFenPerMwh = rateFenPerMwh;
                newest.effectiveFrom = effectiveFrom;
            }
        }
        if (!replaced) {
            _rates[region_][count % _RATE_HISTORY] = StampRate(rateFenPerMwh, effectiveFrom);
            _rateCount[region_] = count + 1;
        }
        _bump();
        emit StampRateScheduled(
            region_, rateFenPerMwh, effectiveFrom, replaced, old.rateFenPerMwh, old.effectiveFrom
        );
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ITransmissionTariff
    function MAX_REGIONS() external pure returns (uint8) {
        return _MAX_REGIONS;
    }

    /// @inheritdoc ITransmissionTariff
    function RATE_HISTORY() external pure returns (uint8) {
        return _RATE_HISTORY;
    }

    /// @inheritdoc ITransmissionTariff
    function definedMask() external view returns (uint32) {
        return _defined;
    }

    /// @inheritdoc ITransmissionTariff
    function regionIds() external view returns (uint8[] memory ids) {
        uint32 mask = _defined;
        uint256 n;
        for (uint32 m = mask; m != 0; m &= m - 1) ++n;
        ids = new uint8[](n);
        uint256 k;
        for (uint8 i = 0; i < _MAX_REGIONS && k < n; ++i) {
            if (mask & (uint32(1) << i) != 0) ids[k++] = i;
        }
    }

    /// @inheritdoc ITransmissionTariff
    function region(uint8 id) external view returns (RegionInfo memory info) {
        _requireRegion(id);
        info.id = id;
        info.name = _names[id];
        info.neighbourMask = _adjacency[id];
        uint64 nowTs = uint64(block.timestamp);
        (bool found, uint128 rate) = _lookup(id, nowTs);
        info.hasRate = found;
        info.rateFenPerMwh = rate;
        uint32 count = _rateCount[id];
        if (count != 0) {
            StampRate memory newest = _rates[id][(count - 1) % _RATE_HISTORY];
            if (newest.effectiveFrom > nowTs) {
                info.pendingRateFenPerMwh = newest.rateFenPerMwh;
                info.pendingFrom = newest.effectiveFrom;
            }
        }
    }

    /// @inheritdoc ITransmissionTariff
    function rateHistory(uint8 region_)
        external
        view
        returns (StampRate[] memory entries, uint256 scheduledCount)
    {
        _requireRegion(region_);
        uint32 count = _rateCount[region_];
        uint256 kept = count < _RATE_HISTORY ? count : _RATE_HISTORY;
        entries = new StampRate[](kept);
        for (uint256 k = 0; k < kept; ++k) {
            entries[k] = _rates[region_][(count - kept + k) % _RATE_HISTORY];
        }
        scheduledCount = count;
    }

    /// @inheritdoc ITransmissionTariff
    function rateAt(uint8 region_, uint64 at) external view returns (uint128 rateFenPerMwh) {
        _requireRegion(region_);
        bool found;
        (found, rateFenPerMwh) = _lookup(region_, at);
        if (!found) revert NoStampRate(region_, at);
    }

    /// @inheritdoc ITransmissionTariff
    function cheapestRoute(uint8 from, uint8 to)
        external
        view
        returns (uint8[] memory route, uint256 sumRateFenPerMwh)
    {
        return _cheapestRoute(from, to, uint64(block.timestamp));
    }

    /// @inheritdoc ITransmissionTariff
    function cheapestRouteAt(uint8 from, uint8 to, uint64 at)
        external
        view
        returns (uint8[] memory route, uint256 sumRateFenPerMwh)
    {
        return _cheapestRoute(from, to, at);
    }

    /// @inheritdoc ITransmissionTariff
    function transmissionFeeFen(uint8 from, uint8 to, uint256 energyWh)
        external
        view
        returns (uint256 feeFen_, uint8[] memory route, uint256 sumRateFenPerMwh)
    {
        (route, sumRateFenPerMwh) = _cheapestRoute(from, to, uint64(block.timestamp));
        feeFen_ = _fee(energyWh, sumRateFenPerMwh);
    }

    /// @inheritdoc ITransmissionTariff
    function cachedRoute(uint8 from, uint8 to)
        external
        returns (uint256 packedRoute, uint256 sumRateFenPerMwh)
    {
        uint256 pair = uint256(from) << 5 | uint256(to & 0x1f);
        // the version and the rates' validity share a slot, read once
        uint32 version = _version;
        if (block.timestamp >= _ratesValidUntil) {
            // a scheduled rate took effect (or nothing was computed since the last write):
            // every cached route is stale
            version = _bump();
        } else if (from < _MAX_REGIONS && to < _MAX_REGIONS) {
            uint256 entry = _routeCache[pair];
            if (entry != 0 && uint32(entry >> 224) == version) {
                return (entry & _ROUTE_MASK, uint56(entry >> 168));
            }
        }
        uint8[] memory route;
        (route, sumRateFenPerMwh) = _cheapestRoute(from, to, uint64(block.timestamp));
        packedRoute = _pack(route);
        _routeCache[pair] =
            packedRoute | uint256(sumRateFenPerMwh.toUint56()) << 168 | uint256(version) << 224;
    }

    /// @dev A new version (every cached route stale) and the rates' validity from now.
    function _bump() private returns (uint32 version) {
        version = _version + 1;
        _version = version;
        _ratesValidUntil = uint56(_validUntil());
    }

    /// @inheritdoc ITransmissionTariff
    function routeRateAt(uint8[] calldata route, uint64 at)
        external
        view
        returns (uint256 sumRateFenPerMwh)
    {
        if (route.length == 0) revert InvalidRoute(0, 0);
        uint32 seen;
        for (uint256 k = 0; k < route.length; ++k) {
            uint8 r = route[k];
            _requireRegion(r);
            uint32 bit = uint32(1) << r;
            if (seen & bit != 0) revert InvalidRoute(k, r);
            if (k != 0 && _adjacency[route[k - 1]] & bit == 0) revert InvalidRoute(k, r);
            seen |= bit;
            (bool found, uint128 rate) = _lookup(r, at);
            if (!found) revert NoStampRate(r, at);
            sumRateFenPerMwh += rate;
        }
    }

    /// @inheritdoc ITransmissionTariff
    function feeFen(uint256 energyWh, uint256 sumRateFenPerMwh) external pure returns (uint256) {
        return _fee(energyWh, sumRateFenPerMwh);
    }

    // ------------------------------------------------------------------ internals

    uint256 private constant _ROUTE_MASK = (uint256(1) << 168) - 1;

    /// @dev Length in bits 0..7, region k in bits 8 + 5k .. 12 + 5k.
    function _pack(uint8[] memory route) private pure returns (uint256 packed) {
        packed = route.length;
        for (uint256 k = 0; k < route.length; ++k) {
            packed |= uint256(route[k]) << (8 + 5 * k);
        }
    }

    /// @dev The earliest future effective time of any region's pending rate (2^56 - 1 when
    /// none): until then the rates in effect, hence every cheapest route, stay the same.
    function _validUntil() private view returns (uint256 until) {
        until = type(uint56).max;
        uint256 nowTs = block.timestamp;
        uint32 mask = _defined;
        for (uint256 r = 0; r < _MAX_REGIONS; ++r) {
            if (mask & (uint32(1) << r) == 0) continue;
            uint32 count = _rateCount[r];
            if (count == 0) continue;
            uint64 from = _rates[r][(count - 1) % _RATE_HISTORY].effectiveFrom;
            if (from > nowTs && from < until) until = from;
        }
    }

    function _fee(uint256 energyWh, uint256 sumRateFenPerMwh) private pure returns (uint256) {
        return energyWh * sumRateFenPerMwh / 1_000_000;
    }

    function _requireRegion(uint8 region_) private view {
        if (region_ >= _MAX_REGIONS || _defined & (uint32(1) << region_) == 0) {
            revert UnknownRegion(region_);
        }
    }

    /// @dev The newest entry of `region_` effective at `at`. Reverts RateHistoryUnavailable
    /// when the ring has dropped the entries that could answer.
    /// @return found Whether a rate was in effect at `at`.
    /// @return rate That rate.
    function _lookup(uint8 region_, uint64 at) private view returns (bool found, uint128 rate) {
        uint32 count = _rateCount[region_];
        uint32 kept = count < _RATE_HISTORY ? count : _RATE_HISTORY;
        for (uint32 k = 1; k <= kept; ++k) {
            StampRate memory entry = _rates[region_][(count - k) % _RATE_HISTORY];
            if (entry.effectiveFrom <= at) return (true, entry.rateFenPerMwh);
        }
        if (count > _RATE_HISTORY) {
            revert RateHistoryUnavailable(
                region_, at, _rates[region_][count % _RATE_HISTORY].effectiveFrom
            );
        }
        return (false, 0);
    }

    /// @dev Node-weighted Dijkstra over bitmask sets. The cost of a path is the sum of its
    /// regions' rates. A region's tentative label is one word,
    /// key = cost << 16 | regions on the path << 8 | previous region, so one comparison
    /// orders by cost, then fewer regions, then the lower previous region (the tie-break),
    /// and the previous region is read back from the label. Each region's rate is read from
    /// storage once, when the search first reaches it.
    function _cheapestRoute(uint8 from, uint8 to, uint64 at)
        private
        view
        returns (uint8[] memory route, uint256 sumRateFenPerMwh)
    {
        _requireRegion(from);
        _requireRegion(to);
        (bool foundFrom, uint128 rateFrom) = _lookup(from, at);
        if (!foundFrom) revert NoStampRate(from, at);
        (bool foundTo,) = _lookup(to, at);
        if (!foundTo) revert NoStampRate(to, at);
        uint256[32] memory key = _search(from, to, at, rateFrom);
        unchecked {
            uint256 label = key[to];
            uint256 n = (label >> 8) & 0xff;
            route = new uint8[](n);
            sumRateFenPerMwh = label >> 16;
            uint256 cur = to;
            for (uint256 k = n; k > 0; --k) {
                route[k - 1] = uint8(cur);
                cur = key[cur] & 0xff;
            }
        }
    }

    /// @dev The labels after settling `to` (reverts NoRoute when it cannot be reached).
    function _search(uint8 from, uint8 to, uint64 at, uint128 rateFrom)
        private
        view
        returns (uint256[32] memory key)
    {
        uint256[32] memory rate;
        key[from] = uint256(rateFrom) << 16 | 1 << 8 | from;
        uint256 reached = uint256(1) << from;
        uint256 closed; // settled, or found to have no rate at `at` (never transited)
        while (true) {
            (uint256 u, uint256 best) = _extractMin(key, reached & ~closed);
            if (u == _MAX_REGIONS) revert NoRoute(from, to);
            closed |= uint256(1) << u;
            if (u == to) return key;
            (reached, closed) = _relaxFrom(key, rate, u, best, reached, closed, at);
        }
    }

    /// @dev The region of least label in `open` and its label (32 when `open` is empty).
    function _extractMin(uint256[32] memory key, uint256 open)
        private
        pure
        returns (uint256 u, uint256 best)
    {
        assembly ("memory-safe") {
            u := 32
            best := not(0)
            // Visit only the set bits: isolate the lowest, find its index by de Bruijn.
            for {} open {} {
                let isolated := and(open, sub(0, open))
                open := xor(open, isolated)
                let i := byte(shr(27, and(mul(isolated, _DE_BRUIJN_MUL), 0xffffffff)), _DE_BRUIJN)
                let k := mload(add(key, shl(5, i)))
                if lt(k, best) {
                    best := k
                    u := i
                }
            }
        }
    }

    /// @dev Relax the edges of the just-settled region `u` (label `best`) to every region
    /// not closed. A region reached for the first time has its rate loaded (or is closed
    /// when it has none at `at`); then every neighbour's label is lowered to
    /// (best's cost + its rate, best's regions + 1, u) when that is smaller.
    function _relaxFrom(
        uint256[32] memory key,
        uint256[32] memory rate,
        uint256 u,
        uint256 best,
        uint256 reached,
        uint256 closed,
        uint64 at
    ) private view returns (uint256, uint256) {
        uint256 next = uint256(_adjacency[u]) & _defined & ~closed;
        uint256 fresh = next & ~reached;
        while (fresh != 0) {
            uint256 v = _lowestBit(fresh);
            uint256 vBit = uint256(1) << v;
            fresh ^= vBit;
            (bool found, uint128 r) = _lookup(uint8(v), at);
            if (found) {
                rate[v] = r;
                key[v] = type(uint256).max;
                reached |= vBit;
            } else {
                closed |= vBit;
                next ^= vBit;
            }
        }
        // Label of a path through u, without the next region's rate.
        uint256 base = (best >> 16 << 16) + (((best >> 8) & 0xff) + 1 << 8) + u;
        assembly ("memory-safe") {
            for {} next {} {
                let isolated := and(next, sub(0, next))
                next := xor(next, isolated)
                let offset :=
                    shl(5, byte(shr(27, and(mul(isolated, _DE_BRUIJN_MUL), 0xffffffff)), _DE_BRUIJN))
                let candidate := add(base, shl(16, mload(add(rate, offset))))
                let slot := add(key, offset)
                if lt(candidate, mload(slot)) { mstore(slot, candidate) }
            }
        }
        return (reached, closed);
    }

    /// @dev The index of the lowest set bit of a non-zero 32-bit `x` (de Bruijn).
    function _lowestBit(uint256 x) private pure returns (uint256 index) {
        assembly ("memory-safe") {
            let isolated := and(x, sub(0, x))
            let slot := shr(27, and(mul(isolated, _DE_BRUIJN_MUL), 0xffffffff))
            index := byte(slot, _DE_BRUIJN)
        }
    }
}
