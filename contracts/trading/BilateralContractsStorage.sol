// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IBilateralContracts} from "../interfaces/IBilateralContracts.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";

/// @title BilateralContractsStorage
/// @notice BilateralContracts' state and the schedule helpers every part of it reads: a
/// contract by number (stored, active), its blocks per period and their intervals, the
/// slot of a period, formed and unformed quantities.
/// @dev The whole storage layout of BilateralContracts, in its original order; the
/// contracts built on it (BilateralTerms, BilateralChangeReview, BilateralPeriods) declare
/// no state.
abstract contract BilateralContractsStorage is IBilateralContracts {
    /// @dev A contract as stored (3 packed slots + the two hashes).
    struct StoredContract {
        address seller; // slot 0
        uint32 templateId;
        ContractStatus status;
        uint16 toleranceBps;
        uint32 sequence;
        address buyer; // slot 1
        uint32 firstPeriodId;
        uint16 firstInterval;
        uint16 lastInterval;
        uint16 periods;
        uint16 blockIntervals;
        uint96 priceFenPerMwh; // slot 2
        uint64 expiresAt;
        uint64 registeredAt;
        uint16 renewalNoticeDays;
        bytes32 documentHash;
        bytes32 termsDigest;
    }

    /// @dev One block of a period (the period itself when flat): its quantity and its trade
    /// (0 = not formed). Slot k * blocks + b is block b of period firstPeriodId + k.
    struct Slot {
        uint64 energyWh;
        uint64 tradeId;
    }

    /// @dev The trade store the periods are formed in.
    ITradingMarket internal immutable _market;
    /// @dev The node registry (removed or banned parties).
    INodeRegistry internal immutable _registry;

    // The storage layout: append only, never reorder (checked against the build's
    // storageLayout when this was split out of BilateralContracts).
    uint32 internal _templateCount;
    uint256 internal _contractCount;
    mapping(uint32 templateId => Template) internal _templates;
    mapping(bytes32 templateHash => uint32 templateId) internal _templateIds;
    mapping(uint256 contractNo => StoredContract) internal _contracts;
    mapping(uint256 contractNo => mapping(uint256 index => Slot)) internal _slots;
    mapping(bytes32 termsDigest => uint256 contractNo) internal _registered;
    mapping(uint256 contractNo => PendingChange) internal _pending;
    mapping(uint256 contractNo => mapping(uint32 periodId => bool)) internal _deviationFlagged;
    mapping(address seller => mapping(address buyer => uint256[])) internal _between;

    /// @param market_ The trade store (TradingMarket) whose venue hook forms the trades.
    /// @param registry_ The node registry (removed or banned parties).
    /// @dev BilateralContracts' constructor rejects zero addresses.
    constructor(ITradingMarket market_, INodeRegistry registry_) {
        _market = market_;
        _registry = registry_;
    }

    function _stored(uint256 contractNo) internal view returns (StoredContract storage c) {
        c = _contracts[contractNo];
        if (c.status == ContractStatus.None) revert UnknownContract(contractNo);
    }

    function _active(uint256 contractNo) internal view returns (StoredContract storage c) {
        c = _stored(contractNo);
        if (c.status != ContractStatus.Active) revert ContractNotActive(contractNo, c.status);
    }

    /// @dev Blocks per period (1 when flat).
    function _blocks(StoredContract storage c) internal view returns (uint256) {
        uint256 width = uint256(c.lastInterval) - c.firstInterval + 1;
        uint256 bi = c.blockIntervals;
        return bi == 0 || bi >= width ? 1 : (width + bi - 1) / bi;
    }

    /// @dev The intervals of block b.
    function _blockWindow(StoredContract storage c, uint256 b)
        internal
        view
        returns (uint16 from, uint16 to)
    {
        if (c.blockIntervals == 0) return (c.firstInterval, c.lastInterval);
        uint256 start = c.firstInterval + b * c.blockIntervals;
        uint256 end = start + c.blockIntervals - 1;
        return (uint16(start), uint16(end < c.lastInterval ? end : c.lastInterval));
    }

    /// @dev The first trade formed among a period's blocks (0 = the period is not formed).
    function _formedTrade(uint256 contractNo, uint256 first, uint256 blocks)
        internal
        view
        returns (uint256)
    {
        for (uint256 b = 0; b < blocks; ++b) {
            uint256 id = _slots[contractNo][first + b].tradeId;
            if (id != 0) return id;
        }
        return 0;
    }

    /// @dev The index of the period's first slot (PeriodNotInContract outside the schedule).
    function _firstSlot(StoredContract storage c, uint256 contractNo, uint32 periodId)
        internal
        view
        returns (uint256)
    {
        if (periodId < c.firstPeriodId || periodId >= uint256(c.firstPeriodId) + c.periods) {
            revert PeriodNotInContract(contractNo, periodId);
        }
        return (periodId - c.firstPeriodId) * _blocks(c);
    }

    function _untradedWh(uint256 contractNo, uint256 periods) internal view returns (uint256 wh) {
        for (uint256 k = 0; k < periods; ++k) {
            Slot storage s = _slots[contractNo][k];
            if (s.tradeId == 0) wh += s.energyWh;
        }
    }

    function _tradedWh(uint256 contractNo, uint256 periods) internal view returns (uint256 wh) {
        for (uint256 k = 0; k < periods; ++k) {
            Slot storage s = _slots[contractNo][k];
            if (s.tradeId != 0) wh += s.energyWh;
        }
    }
}
