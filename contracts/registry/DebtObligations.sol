// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {INodeRegistry} from "../interfaces/INodeRegistry.sol";

/// @title DebtObligations
/// @notice An unpaid amount a node owes (a surveillance penalty or a quota fine its bond did
/// not cover) held as one registry obligation while it is unpaid (the contract holds
/// MARKET_CONTRACT): the owing node cannot exit, and its entity cannot register a second
/// address (`EntityAlreadyRegistered`). Paying the last fen removes the obligation. See
/// docs/defaults.md section 2.
abstract contract DebtObligations {
    /// @dev The unpaid amount per node, and whether the registry obligation is held for it
    /// (it is added in every registered state: Pending, Active, or after the node left,
    /// when it holds the entity again; docs/defaults.md section 2).
    mapping(address node => uint256) private _unpaidFen;
    mapping(address node => bool) private _held;

    /// @dev Add `amountFen` (non-zero) to `node`'s unpaid amount; hold one obligation on a
    /// registered node unless one is held. Registry zero: record only.
    function _recordUnpaid(INodeRegistry registry, address node, uint256 amountFen)
        internal
        returns (uint256 totalFen, bool held)
    {
        totalFen = _unpaidFen[node] + amountFen;
        _unpaidFen[node] = totalFen;
        held = _held[node];
        if (
            !held && address(registry) != address(0)
                && registry.statusOf(node) != INodeRegistry.NodeStatus.None
        ) {
            held = true;
            _held[node] = true;
            registry.addObligation(node);
        }
    }

    /// @dev Pay min(amountFen, unpaid) of `node`'s unpaid amount; the last fen releases the
    /// obligation. Returns what was paid (zero when nothing is owed) and what remains.
    function _payUnpaid(INodeRegistry registry, address node, uint256 amountFen)
        internal
        returns (uint256 paidFen, uint256 restFen)
    {
        uint256 owedFen = _unpaidFen[node];
        paidFen = amountFen < owedFen ? amountFen : owedFen;
        restFen = owedFen - paidFen;
        _unpaidFen[node] = restFen;
        if (restFen == 0 && _held[node]) {
            _held[node] = false;
            registry.removeObligation(node);
        }
    }

    /// @dev `node`'s unpaid amount and whether an obligation is held for it.
    function _unpaidOf(address node) internal view returns (uint256 unpaidFen, bool held) {
        return (_unpaidFen[node], _held[node]);
    }
}
