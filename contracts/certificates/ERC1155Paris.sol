// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155MetadataURI} from
    "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {ERC1155Utils} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Utils.sol";
import {IERC165, ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";
import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @title ERC1155Paris
/// @notice A minimal ERC-1155 (EIP-1155, with metadata URI and per-id supply) that compiles
/// for `evmVersion` paris. The supply is the inheriting contract's: it implements
/// `totalSupply` and `totalSupplyAll` from its own mint and burn records (GreenCertificate
/// derives them from issuance, retirement and revocation; see docs/gas.md), so a mint or a
/// burn writes only the balance here.
/// @dev OpenZeppelin 5.7's ERC1155 imports `Arrays`, whose assembly uses `mcopy` (Cancun),
/// so it cannot be built for the suite's paris target. This follows OpenZeppelin's
/// ERC1155 + ERC1155Supply semantics exactly: same ERC-6093 errors, TransferSingle for one
/// id and TransferBatch for several, approval checks, and OpenZeppelin's own
/// `ERC1155Utils` acceptance checks (IERC1155Receiver.onERC1155Received /
/// onERC1155BatchReceived must return their selectors when the receiver has code).
abstract contract ERC1155Paris is ERC165, IERC1155, IERC1155MetadataURI, IERC1155Errors {
    mapping(uint256 id => mapping(address account => uint256)) private _balances;
    mapping(address account => mapping(address operator => bool)) private _operatorApprovals;
    string private _uri;

    constructor(string memory uri_) {
        _uri = uri_;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId)
        public
        view
        virtual
        override(ERC165, IERC165)
        returns (bool)
    {
        return interfaceId == type(IERC1155).interfaceId
            || interfaceId == type(IERC1155MetadataURI).interfaceId
            || super.supportsInterface(interfaceId);
    }

    /// @inheritdoc IERC1155MetadataURI
    function uri(uint256) public view virtual returns (string memory) {
        return _uri;
    }

    /// @inheritdoc IERC1155
    function balanceOf(address account, uint256 id) public view virtual returns (uint256) {
        return _balances[id][account];
    }

    /// @inheritdoc IERC1155
    function balanceOfBatch(address[] memory accounts, uint256[] memory ids)
        public
        view
        virtual
        returns (uint256[] memory batchBalances)
    {
        if (accounts.length != ids.length) {
            revert ERC1155InvalidArrayLength(ids.length, accounts.length);
        }
        batchBalances = new uint256[](accounts.length);
        for (uint256 i = 0; i < accounts.length; ++i) {
            batchBalances[i] = _balances[ids[i]][accounts[i]];
        }
    }

    /// @inheritdoc IERC1155
    function setApprovalForAll(address operator, bool approved) public virtual {
        if (operator == address(0)) revert ERC1155InvalidOperator(address(0));
        _operatorApprovals[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// @inheritdoc IERC1155
    function isApprovedForAll(address account, address operator)
        public
        view
        virtual
        returns (bool)
    {
        return _operatorApprovals[account][operator];
    }

    /// @inheritdoc IERC1155
    function safeTransferFrom(
        address from,
        address to,
        uint256 id,
        uint256 value,
        bytes calldata data
    ) public virtual {
        _checkOperator(from);
        _safeTransfer(from, to, _single(id), _single(value), data);
    }

    /// @inheritdoc IERC1155
    function safeBatchTransferFrom(
        address from,
        address to,
        uint256[] calldata ids,
        uint256[] calldata values,
        bytes calldata data
    ) public virtual {
        _checkOperator(from);
        _safeTransfer(from, to, ids, values, data);
    }

    /// @notice Certificates of `id` in circulation (minted minus burned).
    function totalSupply(uint256 id) public view virtual returns (uint256);

    /// @notice Certificates of every id in circulation.
    function totalSupplyAll() public view virtual returns (uint256);

    // ------------------------------------------------------------------ internal

    function _checkOperator(address from) private view {
        if (from != msg.sender && !_operatorApprovals[from][msg.sender]) {
            revert ERC1155MissingApprovalForAll(msg.sender, from);
        }
    }

    function _safeTransfer(
        address from,
        address to,
        uint256[] memory ids,
        uint256[] memory values,
        bytes memory data
    ) internal {
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        if (from == address(0)) revert ERC1155InvalidSender(address(0));
        _updateWithAcceptanceCheck(from, to, ids, values, data);
    }

    /// @dev Mint `value` of `id` to `to` (with the receiver acceptance check): what
    /// `_updateWithAcceptanceCheck` does for one id, without its one-element arrays.
    function _mint(address to, uint256 id, uint256 value, bytes memory data) internal {
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        _balances[id][to] += value;
        emit TransferSingle(msg.sender, address(0), to, id, value);
        ERC1155Utils.checkOnERC1155Received(msg.sender, address(0), to, id, value, data);
    }

    /// @dev Burn `value` of `id` held by `from`: what `_update` does for one id, without
    /// its one-element arrays.
    function _burn(address from, uint256 id, uint256 value) internal {
        if (from == address(0)) revert ERC1155InvalidSender(address(0));
        uint256 fromBalance = _balances[id][from];
        if (fromBalance < value) revert ERC1155InsufficientBalance(from, fromBalance, value, id);
        unchecked {
            _balances[id][from] = fromBalance - value;
        }
        emit TransferSingle(msg.sender, from, address(0), id, value);
    }

    /// @dev Move balances and supply; emits TransferSingle (one id) or TransferBatch.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values)
        internal
        virtual
    {
        if (ids.length != values.length) {
            revert ERC1155InvalidArrayLength(ids.length, values.length);
        }
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 id = ids[i];
            uint256 value = values[i];
            if (from != address(0)) {
                uint256 fromBalance = _balances[id][from];
                if (fromBalance < value) {
                    revert ERC1155InsufficientBalance(from, fromBalance, value, id);
                }
                unchecked {
                    _balances[id][from] = fromBalance - value;
                }
            }
            if (to != address(0)) _balances[id][to] += value;
        }
        if (ids.length == 1) {
            emit TransferSingle(msg.sender, from, to, ids[0], values[0]);
        } else {
            emit TransferBatch(msg.sender, from, to, ids, values);
        }
    }

    function _updateWithAcceptanceCheck(
        address from,
        address to,
        uint256[] memory ids,
        uint256[] memory values,
        bytes memory data
    ) internal {
        _update(from, to, ids, values);
        if (to != address(0)) {
            if (ids.length == 1) {
                ERC1155Utils.checkOnERC1155Received(msg.sender, from, to, ids[0], values[0], data);
            } else {
                ERC1155Utils.checkOnERC1155BatchReceived(msg.sender, from, to, ids, values, data);
            }
        }
    }

    function _single(uint256 x) private pure returns (uint256[] memory a) {
        a = new uint256[](1);
        a[0] = x;
    }
}
