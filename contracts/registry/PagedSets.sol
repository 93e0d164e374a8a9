// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title PagedSets
/// @notice Address and bytes32 sets with O(1) add/remove (swap and pop) and paging.
/// @dev OpenZeppelin's EnumerableSet imports Arrays, which needs `mcopy` (Cancun); the
/// suite targets paris, hence this small replacement. Removal changes the order.
library PagedSets {
    struct AddressSet {
        address[] items;
        mapping(address item => uint256 position) positions; // index + 1; 0 = absent
    }

    struct Bytes32Set {
        bytes32[] items;
        mapping(bytes32 item => uint256 position) positions;
    }

    function add(AddressSet storage set, address item) internal returns (bool) {
        if (set.positions[item] != 0) return false;
        set.items.push(item);
        set.positions[item] = set.items.length;
        return true;
    }

    function remove(AddressSet storage set, address item) internal returns (bool) {
        uint256 position = set.positions[item];
        if (position == 0) return false;
        uint256 last = set.items.length;
        if (position != last) {
            address moved = set.items[last - 1];
            set.items[position - 1] = moved;
            set.positions[moved] = position;
        }
        set.items.pop();
        delete set.positions[item];
        return true;
    }

    function length(AddressSet storage set) internal view returns (uint256) {
        return set.items.length;
    }

    function page(AddressSet storage set, uint256 offset, uint256 limit)
        internal
        view
        returns (address[] memory out)
    {
        uint256 end = pageEnd(offset, limit, set.items.length);
        out = new address[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            out[i - offset] = set.items[i];
        }
    }

    function add(Bytes32Set storage set, bytes32 item) internal returns (bool) {
        if (set.positions[item] != 0) return false;
        set.items.push(item);
        set.positions[item] = set.items.length;
        return true;
    }

    function remove(Bytes32Set storage set, bytes32 item) internal returns (bool) {
        uint256 position = set.positions[item];
        if (position == 0) return false;
        uint256 last = set.items.length;
        if (position != last) {
            bytes32 moved = set.items[last - 1];
            set.items[position - 1] = moved;
            set.positions[moved] = position;
        }
        set.items.pop();
        delete set.positions[item];
        return true;
    }

    function length(Bytes32Set storage set) internal view returns (uint256) {
        return set.items.length;
    }

    function at(Bytes32Set storage set, uint256 index) internal view returns (bytes32) {
        return set.items[index];
    }

    function page(Bytes32Set storage set, uint256 offset, uint256 limit)
        internal
        view
        returns (bytes32[] memory out)
    {
        uint256 end = pageEnd(offset, limit, set.items.length);
        out = new bytes32[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            out[i - offset] = set.items[i];
        }
    }

    /// @notice The end of page [offset, offset + limit) of a list of `len` items (clamped;
    /// equals `offset` past the end, so a page past the end is empty).
    function pageEnd(uint256 offset, uint256 limit, uint256 len) internal pure returns (uint256) {
        if (offset >= len) return offset;
        uint256 remaining = len - offset;
        return offset + (limit < remaining ? limit : remaining);
    }
}
