// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {NodeRegistryStorage} from "./NodeRegistryStorage.sol";
import {PagedSets} from "./PagedSets.sol";

/// @title NodeRegistryRecords
/// @notice The registry's limits and the node-record helpers every part of NodeRegistry uses:
/// lookups by status, the profile check, leaving enrolment, the entity a node holds, the
/// bond a node has free, and why a node cannot trade.
/// @dev No state of its own (the layout is NodeRegistryStorage's).
abstract contract NodeRegistryRecords is
    INodeRegistry,
    MarketAccessed,
    ReentrancyGuard,
    NodeRegistryStorage
{
    using PagedSets for PagedSets.AddressSet;
    using PagedSets for PagedSets.Bytes32Set;

    /// @notice Number of credit levels, AAA (0) .. C (8).
    uint8 public constant CREDIT_LEVELS = 9;
    /// @notice Region ids are below this.
    uint8 public constant REGION_COUNT = 32;
    /// @notice Most licence types one kind may require.
    uint256 public constant MAX_REQUIRED_QUALIFICATIONS = 8;
    /// @notice Highest carbon intensity a generator may declare, g/kWh.
    uint32 public constant MAX_CARBON_INTENSITY = 2000;

    /// @notice Longest display name, in bytes of UTF-8.
    uint256 public constant MAX_DISPLAY_NAME_BYTES = 64;

    function _checkCanTrade(address node) internal view returns (Side side, uint8 region) {
        bytes memory err = _tradeError(node);
        if (err.length != 0) {
            assembly ("memory-safe") {
                revert(add(err, 0x20), mload(err))
            }
        }
        Node storage n = _nodes[node];
        return (n.side, n.region);
    }

    function _checkProfile(
        NodeKind kind,
        Side side,
        uint8 region,
        uint64 capacityKw,
        uint32 carbonIntensity
    ) internal pure {
        if (region >= REGION_COUNT) revert InvalidRegion(region);
        bool generator = kind <= NodeKind.Biomass;
        if ((generator || kind == NodeKind.Storage) && side != Side.Seller) {
            revert WrongSide(kind, side);
        }
        if (kind == NodeKind.Consumer && side != Side.Buyer) revert WrongSide(kind, side);
        if ((generator || kind == NodeKind.Storage) && capacityKw == 0) {
            revert InvalidCapacity(kind, capacityKw);
        }
        if (generator ? carbonIntensity > MAX_CARBON_INTENSITY : carbonIntensity != 0) {
            revert InvalidCarbonIntensity(kind, carbonIntensity);
        }
    }

    function _known(address node) internal view returns (Node storage n) {
        if (node == address(0)) revert ZeroAddress();
        n = _nodes[node];
        if (n.status == NodeStatus.None) revert NodeNotFound(node);
    }

    function _enrolled(address node) internal view returns (Node storage n) {
        n = _known(node);
        if (n.status != NodeStatus.Pending && n.status != NodeStatus.Active) {
            revert NodeNotEnrolled(node);
        }
    }

    function _pending(address node) internal view returns (Node storage n) {
        n = _known(node);
        if (n.status != NodeStatus.Pending) revert NodeNotPending(node);
    }

    function _pendingChange(address node) internal view returns (ChangeRequest storage c) {
        c = _changes[node];
        if (!c.pending) revert NoPendingChange(node);
    }

    function _checkNoExposure(address node, Node storage n) internal view {
        if (n.obligations != 0) revert OpenObligations(node, n.obligations);
        if (n.reservedFen != 0) revert ReservedBondOutstanding(node, n.reservedFen);
    }

    /// @dev Ends enrolment (exit, reclaim, removal): drops pending reviews; the entity is
    /// free once the node holds no obligation (_holder). Exit and reclaim zero the bond and
    /// return it (the caller transfers).
    function _leave(address node, Node storage n, NodeStatus to) internal returns (uint256 bond) {
        if (n.status == NodeStatus.Pending) _pendingApplications.remove(node);
        if (_changes[node].pending) {
            _changes[node].pending = false;
            _pendingChanges.remove(node);
        }
        n.status = to;
        if (to == NodeStatus.Removed) return n.bondFen;
        bond = n.bondFen;
        n.bondFen = 0;
        _totalBond -= bond;
    }

    function _remove(address node, Node storage n, bytes32 reasonCode) internal {
        uint256 held = _leave(node, n, NodeStatus.Removed);
        emit NodeRemoved(node, n.entityHash, reasonCode, held, msg.sender);
    }

    /// @dev The node holding `entity`: its enrolled (Pending/Active) node, or a node that
    /// left (rejected, exited, removed) with obligations open (a debt, an unserved penalty or
    /// fine, an open trade), so an owing entity cannot register again; else zero. The
    /// record of a node that left clean is stale and ignored here.
    function _holder(bytes32 entity) internal view returns (address holder) {
        holder = _entityNode[entity];
        Node storage n = _nodes[holder];
        NodeStatus s = n.status;
        if (n.obligations == 0 && s != NodeStatus.Pending && s != NodeStatus.Active) {
            holder = address(0);
        }
    }

    function _available(Node storage n) internal view returns (uint256) {
        return n.bondFen > n.reservedFen ? n.bondFen - n.reservedFen : 0;
    }

    function _withdrawable(address, Node storage n) internal view returns (uint256) {
        uint256 locked = n.status == NodeStatus.Active ? uint240(_bondTable[_level(n)]) : 0;
        if (n.reservedFen > locked) locked = n.reservedFen;
        return n.bondFen > locked ? n.bondFen - locked : 0;
    }

    /// @dev The ABI-encoded reason `node` cannot trade, or empty.
    function _tradeError(address node) internal view returns (bytes memory) {
        Node storage n = _nodes[node];
        if (n.status != NodeStatus.Active) {
            return abi.encodeWithSelector(NodeNotActive.selector, node);
        }
        if (n.blocked) {
            return abi.encodeWithSelector(TradingBlocked.selector, node, _blocks[node].at(0));
        }
        uint256 entry = _bondTable[_level(n)];
        uint256 required = uint240(entry);
        if (n.bondFen < required) {
            return abi.encodeWithSelector(
                BondBelowRequirement.selector, node, n.bondFen, required
            );
        }
        if ((entry >> 240) & (1 << uint8(n.kind)) == 0) return ""; // no licence required
        bytes32[] storage types = _required[n.kind];
        uint256 len = types.length;
        for (uint256 i = 0; i < len; ++i) {
            Qualification storage q = _quals[node][types[i]];
            if (q.epoch != n.epoch || q.expiresAt == 0) {
                return abi.encodeWithSelector(QualificationMissing.selector, node, types[i]);
            }
            if (q.expiresAt <= block.timestamp) {
                return abi.encodeWithSelector(
                    QualificationExpired.selector, node, types[i], q.expiresAt
                );
            }
        }
        return "";
    }
}
