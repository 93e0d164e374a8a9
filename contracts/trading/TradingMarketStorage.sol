// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {IDispatchResults} from "../interfaces/IDispatchResults.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ITransmissionTariff} from "../interfaces/ITransmissionTariff.sol";
import {ISettlementMarket} from "../settlement/ISettlementMarket.sol";

/// @title TradingMarketStorage
/// @notice TradingMarket's state and the helpers every part of it reads: a period,
/// listing or trade by id (known, open), the packed slot words, the interned takers and
/// terms, and the derived amounts (energyFen, feeFen, exposure).
/// @dev The whole storage layout of TradingMarket, in its original order (layout in
/// docs/gas.md); the contracts built on it (TradingMarketTakes, TradingMarketEscrow,
/// TradingMarketViews) declare no state. Append only, never reorder: checked against the
/// build's storageLayout when this was split out of TradingMarket.
abstract contract TradingMarketStorage is
    ITradingMarket,
    ISettlementMarket,
    MarketAccessed,
    ReentrancyGuard
{
    /// @dev A listing as stored; energyWh = takenWh + remainingWh (amend keeps it so).
    struct StoredListing {
        address maker; // slot 0
        ListingSide side;
        ListingStatus status;
        uint8 region;
        uint32 periodId;
        uint16 firstInterval;
        uint16 lastInterval;
        uint48 remainingWh; // slot 1
        uint48 takenWh;
        uint48 minTakeWh;
        uint32 priceFenPerMwh;
        uint40 postedAt;
        uint40 expiresAt;
        bytes32 termsHash; // slot 2, written only when non-zero
    }

    /// @dev A trade as stored: 1 slot at formation, written with one sstore (_storeTrade).
    /// Period, delivery window and the maker (the buyer of a Buy listing, the seller of a
    /// Sell listing) are the listing's, which never change; the taker is interned
    /// (_interned), the route, rate sum and exposure rate at take are interned together
    /// as one word (_interned); escrow, fee, energyFen and exposure are derived.
    struct StoredTrade {
        uint32 takerId; // slot 0; into _interned, 0 = no trade
        uint56 listingId;
        bool paidWhileFormed; // payOut of a Formed trade wrote slot 1 (see settleTrade)
        TradeStatus status;
        uint48 energyWh; // <= the listing's remainingWh, a uint48
        uint32 priceFenPerMwh; // the listing's, a uint32
        uint40 formedAt;
        uint32 termsId; // into _interned
        uint64 executedWh; // slot 1, written at dispatch / payout
        uint64 curtailedWh;
        uint128 paidOutFen;
    }

    /// @notice Wh per MWh: amountFen = energyWh x priceFenPerMwh / WH_PER_MWH.
    uint256 public constant WH_PER_MWH = 1_000_000;
    /// @notice Basis points of a whole.
    uint16 public constant BPS = 10_000;
    /// @notice The exposure rate at deployment: 10 % of the trade value.
    uint16 public constant DEFAULT_EXPOSURE_BPS = 1_000;

    /// @dev The access root's DEFAULT_ADMIN_ROLE (setDispatchResults).
    bytes32 internal constant ADMIN_ROLE = 0x00;

    INodeRegistry internal immutable _registry;
    ITransmissionTariff internal immutable _tariff;
    IERC20 internal immutable _token;

    // One slot: the counters and the escrow total a take updates together.
    uint64 internal _tradeCount;
    uint16 internal _exposureBps;
    uint128 internal _totalEscrow;
    // One slot.
    uint64 internal _listingCount;
    uint32 internal _periodCount;
    uint32 internal _internCount;
    mapping(uint32 periodId => Period) internal _periods;

    mapping(uint256 listingId => StoredListing) internal _listings;

    mapping(uint256 tradeId => StoredTrade) internal _trades;
    /// @dev Per (node, period), one word: the node's trades of the period as buyer or
    /// seller (bits 0..63), and, written by settleTrade (the settlement engine's totals of
    /// the node-period, kept in this slot the take made non-zero), its settled trades (bits
    /// 64..95), the executed and substituted energy it bought (importWh, bits 96..159) and
    /// the executed energy it sold (exportWh, bits 160..223). Bits 224..255 hold the node's
    /// intern id once it has taken in the period, so a node's later takes of the period
    /// read its id from the counter's slot.
    mapping(address node => mapping(uint32 periodId => uint256)) internal _tradesIn;
    /// @dev Interned words, ids from 1: a trade's taker (its address) and its terms (the
    /// route packed as ITransmissionTariff.cachedRoute in bits 0..167, the rate sum in
    /// fen/MWh in bits 168..231, the exposure rate in bps in bits 232..247, at take). A
    /// word is one id whatever it stands for; the trade field says how to read it.
    mapping(uint32 id => uint256 word) internal _interned;
    mapping(uint256 word => uint32 id) internal _internIds;
    /// @dev Named once by the ADMIN (setDispatchResults): where `trade` reads the executed
    /// and curtailed energy of a trade settleTrade closed without writing its slot 1.
    IDispatchResults internal _dispatchResults;

    /// @param registry_ The node registry (eligibility, regions, bonds, obligations).
    /// @param tariff_ The transmission tariff (cheapest route and formula 1).
    /// @param token_ The settlement token escrows are held in.
    /// @dev TradingMarket's constructor rejects zero addresses.
    constructor(INodeRegistry registry_, ITransmissionTariff tariff_, IERC20 token_) {
        _registry = registry_;
        _tariff = tariff_;
        _token = token_;
    }

    // ================================================================ lookups

    function _period(uint32 periodId) internal view returns (Period storage p) {
        p = _periods[periodId];
        if (p.id == 0) revert UnknownPeriod(periodId);
    }

    function _listing(uint256 listingId) internal view returns (StoredListing storage l) {
        l = _listings[listingId];
        if (l.maker == address(0)) revert UnknownListing(listingId);
    }

    function _openListing(uint256 listingId) internal view returns (StoredListing storage l) {
        l = _listing(listingId);
        if (l.status != ListingStatus.Open) revert ListingNotOpen(listingId, l.status);
    }

    function _trade(uint256 tradeId) internal view returns (StoredTrade storage t) {
        t = _trades[tradeId];
        if (t.takerId == 0) revert UnknownTrade(tradeId);
    }

    function _openTrade(uint256 tradeId) internal view returns (StoredTrade storage t) {
        t = _trade(tradeId);
        if (t.status != TradeStatus.Formed && t.status != TradeStatus.Dispatched) {
            revert InvalidTradeStatus(tradeId, t.status);
        }
    }

    // ================================================================ packed words

    /// @dev The slot of _tradeCount (bits 0..63), _exposureBps (64..79) and _totalEscrow
    /// (80..207), read once per take.
    function _countersWord() internal view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(_tradeCount.slot)
        }
    }

    /// @dev A take's update of that slot, one sstore: the next trade id (uint64, checked
    /// as ++_tradeCount was) and the escrow total plus `escrowFen` (SafeCast to uint128).
    function _storeCounters(uint256 counters, uint256 escrowFen) internal returns (uint64 id) {
        id = uint64(counters) + 1;
        uint256 escrow = SafeCast.toUint128(uint256(uint128(counters >> 80)) + escrowFen);
        uint256 word = counters >> 208 << 208 | escrow << 80 | (counters >> 64 & 0xffff) << 64 | id;
        assembly ("memory-safe") {
            sstore(_tradeCount.slot, word)
        }
    }

    /// @dev Slots 0 and 1 of a listing (StoredListing order, low bits first).
    function _listingWords(StoredListing storage l)
        internal
        view
        returns (uint256 head, uint256 amounts)
    {
        assembly ("memory-safe") {
            head := sload(l.slot)
            amounts := sload(add(l.slot, 1))
        }
    }

    /// @dev Slot 1 of a listing after a take of `energyWh`: remainingWh `remaining`,
    /// takenWh + energyWh (SafeCast), one sstore.
    function _storeTaken(
        StoredListing storage l,
        uint256 amounts,
        uint256 remaining,
        uint256 energyWh
    ) internal {
        uint256 taken = SafeCast.toUint48(uint256(uint48(amounts >> 48)) + energyWh);
        uint256 word = amounts >> 96 << 96 | taken << 48 | remaining;
        assembly ("memory-safe") {
            sstore(add(l.slot, 1), word)
        }
    }

    /// @dev A period's taking window (one read of its second slot).
    function _takingWindow(Period storage p)
        internal
        view
        returns (uint64 opensAt, uint64 closesAt)
    {
        return (p.takingOpensAt, p.takingClosesAt);
    }

    /// @dev The first word of a stored struct (one sload for its packed fields).
    function _slot0(StoredTrade storage t) internal view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(t.slot)
        }
    }

    /// @dev The second word of a trade (executedWh, curtailedWh, paidOutFen).
    function _slot1(StoredTrade storage t) internal view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(add(t.slot, 1))
        }
    }

    function _slot0(StoredListing storage l) internal view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(l.slot)
        }
    }

    function _slot0(Period storage p) internal view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(p.slot)
        }
    }

    // ================================================================ interned terms, amounts

    /// @dev The id of `word` in _interned, given on first use (the 2^32-th id reverts).
    function _intern(uint256 word) internal returns (uint32 id) {
        id = _internIds[word];
        if (id == 0) {
            id = ++_internCount;
            _internIds[word] = id;
            _interned[id] = word;
        }
    }

    /// @dev Buyer and seller of a trade: the taker and its listing's maker.
    function _parties(StoredTrade storage t) internal view returns (address buyer, address seller) {
        StoredListing storage l = _listings[t.listingId];
        address taker = address(uint160(_interned[t.takerId]));
        return l.side == ListingSide.Sell ? (taker, l.maker) : (l.maker, taker);
    }

    /// @dev The packed route of a trade's terms (see _interned).
    function _routeOf(StoredTrade storage t) internal view returns (uint256) {
        return _interned[t.termsId] & type(uint168).max;
    }

    /// @dev The rate sum (fen/MWh) of a trade's terms.
    function _sumRateOf(StoredTrade storage t) internal view returns (uint64) {
        return uint64(_interned[t.termsId] >> 168);
    }

    /// @dev The exposure rate (bps) of a trade's terms.
    function _exposureBpsOf(StoredTrade storage t) internal view returns (uint16) {
        return uint16(_interned[t.termsId] >> 232);
    }

    /// @dev The route packed by ITransmissionTariff.cachedRoute, as a list of regions.
    function _unpack(uint256 packed) internal pure returns (uint8[] memory route) {
        uint256 n = packed & 0xff;
        route = new uint8[](n);
        for (uint256 k = 0; k < n; ++k) {
            route[k] = uint8((packed >> (8 + 5 * k)) & 0x1f);
        }
    }

    function _energyFen(StoredTrade storage t) internal view returns (uint256) {
        return uint256(t.energyWh) * t.priceFenPerMwh / WH_PER_MWH;
    }

    function _feeFen(StoredTrade storage t) internal view returns (uint256) {
        return uint256(t.energyWh) * _sumRateOf(t) / WH_PER_MWH;
    }

    function _exposure(uint256 energyFen, uint16 bps) internal pure returns (uint256) {
        return (energyFen * bps + BPS - 1) / BPS;
    }
}
