// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title INodeRegistry
/// @notice The market's participants: real-name registration reviewed by a VERIFIER,
/// performance bonds in the settlement token sized by credit level, qualification
/// certificates with expiry, change requests, voluntary exit, reclaim of inactive nodes,
/// removal and permanent bans by the REGULATOR.
/// @dev A node is an address; its legal entity is keyed by `entityHash` = keccak256 of the
/// upper-cased unified social credit code (USCC). One entity holds at most one enrolled
/// (pending or active) node; a banned entity can never enrol again, under any address.
/// The identity bundle lives off chain (encrypted); the chain keeps only its hash.
/// Every function is O(1) (loops run only over the <= 8 required licence types of a kind)
/// and every list has a paging view. Reason codes are short ASCII strings as bytes32.
interface INodeRegistry {
    /// @notice What a node is.
    enum NodeKind {
        Coal,
        Gas,
        Wind,
        Solar,
        Hydro,
        Biomass,
        Storage,
        Retailer,
        Consumer,
        GridCompany
    }

    /// @notice Which side of the market a node trades on (a node able to do both is Seller).
    enum Side {
        Seller,
        Buyer
    }

    /// @notice Lifecycle of a node address. Rejected, Exited and (unbanned, bond returned)
    /// Removed nodes may apply again and go through review again.
    enum NodeStatus {
        None,
        Pending,
        Active,
        Rejected,
        Exited,
        Removed
    }

    /// @notice Everything the registry knows about one node.
    struct NodeInfo {
        address node;
        NodeStatus status;
        NodeKind kind;
        Side side;
        uint8 region;
        uint8 creditLevel;
        bool rated;
        uint64 capacityKw;
        uint32 carbonIntensityGPerKwh;
        uint32 epoch;
        bytes32 entityHash;
        bytes32 identityHash;
        uint64 appliedAt;
        uint64 approvedAt;
        uint64 lastActiveAt;
        uint256 bondFen;
        uint256 reservedFen;
        uint256 requiredBondFen;
        uint256 obligations;
        uint256 blockCount;
        bool changePending;
    }

    /// @notice One qualification certificate of a node (the approved one and a pending
    /// submission awaiting review).
    struct QualificationInfo {
        address node;
        bytes32 licenceType;
        bytes32 numberHash;
        uint64 expiresAt;
        bool valid;
        bool pending;
        bytes32 pendingNumberHash;
        uint64 pendingExpiresAt;
    }

    /// @notice A node's pending or last change request.
    struct ChangeRequest {
        uint32 changeId;
        bool pending;
        uint8 region;
        uint64 capacityKw;
        uint32 carbonIntensityGPerKwh;
        bytes32 identityHash;
    }

    // ------------------------------------------------------------------ events

    /// @notice `node` applied (or re-applied) for admission; its review is pending.
    event NodeApplied(
        address indexed node,
        bytes32 indexed entityHash,
        NodeKind kind,
        Side side,
        uint8 region,
        uint64 capacityKw,
        uint32 carbonIntensityGPerKwh,
        bytes32 identityHash,
        uint32 epoch
    );
    /// @notice A VERIFIER admitted `node`.
    event NodeApproved(address indexed node, bytes32 indexed entityHash, address verifier);
    /// @notice A VERIFIER refused `node`'s application.
    event NodeRejected(
        address indexed node, bytes32 indexed entityHash, bytes32 reasonCode, address verifier
    );
    /// @notice `node` left voluntarily (or withdrew its application); its bond went back.
    event NodeExited(address indexed node, uint256 bondReturnedFen);
    /// @notice The OPERATOR reclaimed `node` after inactivity; its bond went back.
    event NodeReclaimed(
        address indexed node, uint64 lastActiveAt, uint256 bondReturnedFen, address operator
    );
    /// @notice The REGULATOR removed `node`; its bond stays held for pending penalties.
    event NodeRemoved(
        address indexed node,
        bytes32 indexed entityHash,
        bytes32 reasonCode,
        uint256 bondHeldFen,
        address regulator
    );
    /// @notice The REGULATOR banned an entity permanently (`node` is the node it acted on).
    event EntityBanned(
        bytes32 indexed entityHash, address indexed node, bytes32 reasonCode, address regulator
    );
    /// @notice The REGULATOR returned the bond held since `node`'s removal.
    event HeldBondReturned(address indexed node, uint256 amountFen, address regulator);

    /// @notice `node`'s bond grew by `amountFen` (paid by `payer`); `bondFen` is the new bond.
    event BondDeposited(address indexed node, address payer, uint256 amountFen, uint256 bondFen);
    /// @notice `node` withdrew `amountFen` of its bond; `bondFen` is what is left.
    event BondWithdrawn(address indexed node, uint256 amountFen, uint256 bondFen);
    /// @notice `amountFen` of `node`'s bond was reserved as exposure by a market contract.
    event BondReserved(address indexed node, uint256 amountFen, uint256 reservedFen, address by);
    /// @notice `amountFen` of `node`'s reserved exposure was released.
    event BondReleased(address indexed node, uint256 amountFen, uint256 reservedFen, address by);
    /// @notice `slashedFen` (<= `requestedFen`) of `node`'s bond went to `to`.
    event BondSlashed(
        address indexed node,
        address indexed to,
        uint256 requestedFen,
        uint256 slashedFen,
        bytes32 reason,
        address by
    );
    /// @notice The OPERATOR set the bond required at credit `level`.
    event BondRequirementSet(uint8 level, uint256 amountFen, address operator);
    /// @notice The OPERATOR set the level assumed for nodes the agency has not rated.
    event DefaultCreditLevelSet(uint8 level, address operator);
    /// @notice The CREDIT_AGENCY published `node`'s credit level.
    event CreditLevelSet(address indexed node, uint8 level, address agency);
    /// @notice The ADMIN set (or, with address 0, cleared) the trading market whose
    /// obligation calls skip the access root's MARKET_CONTRACT check.
    event TradingMarketSet(address market, address admin);
    /// @notice The OPERATOR set how long a node may stay inactive before reclaim.
    event InactivityPeriodSet(uint64 periodS, address operator);

    /// @notice A market contract opened an obligation of `node` (now `obligations` open).
    event ObligationAdded(address indexed node, uint256 obligations, address by);
    /// @notice A market contract closed an obligation of `node` (now `obligations` open).
    event ObligationRemoved(address indexed node, uint256 obligations, address by);
    /// @notice A market contract blocked `node` from new trading for `reason`.
    event NodeBlocked(address indexed node, bytes32 reason, address by);
    /// @notice A market contract lifted the `reason` block of `node`.
    event NodeUnblocked(address indexed node, bytes32 reason, address by);

    /// @notice `node` submitted (or renewed) a certificate; it awaits review.
    event QualificationSubmitted(
        address indexed node, bytes32 indexed licenceType, bytes32 numberHash, uint64 expiresAt
    );
    /// @notice A VERIFIER approved `node`'s certificate.
    event QualificationApproved(
        address indexed node,
        bytes32 indexed licenceType,
        bytes32 numberHash,
        uint64 expiresAt,
        address verifier
    );
    /// @notice A VERIFIER refused `node`'s submitted certificate.
    event QualificationRejected(
        address indexed node, bytes32 indexed licenceType, bytes32 reasonCode, address verifier
    );
    /// @notice The OPERATOR made `licenceType` required (or not) for nodes of `kind`.
    event RequiredQualificationSet(
        NodeKind indexed kind, bytes32 indexed licenceType, bool required, address operator
    );

    /// @notice `node` asked to change its registered data (re-reviewed by a VERIFIER).
    event ChangeRequested(
        address indexed node,
        uint32 indexed changeId,
        uint8 region,
        uint64 capacityKw,
        uint32 carbonIntensityGPerKwh,
        bytes32 identityHash
    );
    /// @notice A VERIFIER applied `node`'s change request.
    event ChangeApproved(address indexed node, uint32 indexed changeId, address verifier);
    /// @notice `node`'s public display name (no personal data) was set to `name` by `setBy`
    /// (the node itself or a VERIFIER).
    event DisplayNameSet(address indexed node, string name, address setBy);
    /// @notice A VERIFIER refused `node`'s change request.
    event ChangeRejected(
        address indexed node, uint32 indexed changeId, bytes32 reasonCode, address verifier
    );

    // ------------------------------------------------------------------ errors

    /// @notice An address argument was the zero address.
    error ZeroAddress();
    /// @notice An amount was zero.
    error ZeroAmount();
    /// @notice A hash argument (entity, identity bundle, licence type, number) was zero.
    error ZeroHash();
    /// @notice Region ids are 0..31.
    error InvalidRegion(uint8 region);
    /// @notice Generators and storage must declare a capacity.
    error InvalidCapacity(NodeKind kind, uint64 capacityKw);
    /// @notice Only generators declare a carbon intensity, at most 2000 g/kWh.
    error InvalidCarbonIntensity(NodeKind kind, uint32 carbonIntensityGPerKwh);
    /// @notice Generators and storage sell; consumers buy.
    error WrongSide(NodeKind kind, Side side);
    /// @notice Credit levels are 0 (AAA) .. 8 (C).
    error InvalidCreditLevel(uint8 level);
    /// @notice An expiry must lie in the future.
    error InvalidExpiry(uint64 expiresAt, uint64 nowS);
    /// @notice The inactivity period must be positive.
    error InvalidInactivityPeriod();

    /// @notice `node` has never applied.
    error NodeNotFound(address node);
    /// @notice `node` is not approved (or was exited/removed).
    error NodeNotActive(address node);
    /// @notice `node` has no application awaiting review.
    error NodeNotPending(address node);
    /// @notice `node` is neither pending nor active.
    error NodeNotEnrolled(address node);
    /// @notice `node` is already pending or active.
    error NodeAlreadyEnrolled(address node, NodeStatus status);
    /// @notice The entity already holds `node`: enrolled, or left with obligations open (an
    /// owing entity stays held by its node until the last obligation is released).
    error EntityAlreadyRegistered(bytes32 entityHash, address node);
    /// @notice The entity is banned permanently.
    error BannedEntity(bytes32 entityHash);
    /// @notice `node` is not removed, or its entity is already banned.
    error NodeNotRemoved(address node);

    /// @notice `node`'s bond is held after removal until the REGULATOR returns it.
    error BondHeld(address node, uint256 bondFen);
    /// @notice `node` still has open listings, trades or obligations.
    error OpenObligations(address node, uint256 obligations);
    /// @notice `node` still has reserved bond exposure.
    error ReservedBondOutstanding(address node, uint256 reservedFen);
    /// @notice A withdrawal asked for more than the bond above the requirement.
    error WithdrawalExceedsExcess(address node, uint256 requestedFen, uint256 excessFen);
    /// @notice The unreserved bond does not cover a reservation.
    error InsufficientBond(address node, uint256 availableFen, uint256 neededFen);
    /// @notice A release exceeded the reserved exposure.
    error ReleaseExceedsReserved(address node, uint256 reservedFen, uint256 amountFen);
    /// @notice `node` has no open obligation to remove.
    error NoOpenObligations(address node);
    /// @notice The caller is neither a MARKET_CONTRACT nor the REGULATOR.
    error UnauthorizedSlasher(address account);

    /// @notice `node`'s bond is below what its credit level requires.
    error BondBelowRequirement(address node, uint256 bondFen, uint256 requiredFen);
    /// @notice `node` has no valid certificate of a required licence type.
    error QualificationMissing(address node, bytes32 licenceType);
    /// @notice `node`'s required certificate expired at `expiredAt`.
    error QualificationExpired(address node, bytes32 licenceType, uint64 expiredAt);
    /// @notice No submission of `licenceType` by `node` awaits review.
    error QualificationNotPending(address node, bytes32 licenceType);
    /// @notice A kind may require at most `max` licence types.
    error TooManyRequiredQualifications(NodeKind kind, uint256 max);
    /// @notice `node` is blocked from new trading for `reason`.
    error TradingBlocked(address node, bytes32 reason);
    /// @notice `node` is already blocked for `reason`.
    error AlreadyBlocked(address node, bytes32 reason);
    /// @notice `node` is not blocked for `reason`.
    error NotBlocked(address node, bytes32 reason);
    /// @notice `node` already has change request `changeId` awaiting review.
    error ChangePending(address node, uint32 changeId);
    /// @notice `node` has no change request awaiting review.
    error NoPendingChange(address node);
    /// @notice `node` was active at `lastActiveAt`; it can be reclaimed from `reclaimableAt`.
    error NodeStillActive(address node, uint64 lastActiveAt, uint64 reclaimableAt);
    /// @notice A display name must be 1..`maxBytes` bytes of UTF-8; `lengthBytes` given.
    error InvalidDisplayName(address node, uint256 lengthBytes, uint256 maxBytes);
    /// @notice Only `node` itself or a VERIFIER may set `node`'s display name.
    error NotNodeOrVerifier(address caller, address node);

    // ------------------------------------------------------------------ node actions

    /// @notice Apply for admission as msg.sender (or re-apply after rejection/exit; not
    /// while it has obligations open: `OpenObligations`).
    /// @param kind What the node is.
    /// @param side Seller or Buyer (generators/storage sell, consumers buy).
    /// @param region Region id 0..31.
    /// @param capacityKw Installed (or contracted) capacity; > 0 for generators and storage.
    /// @param carbonIntensityGPerKwh Generators only (<= 2000); 0 for other kinds.
    /// @param entityHash keccak256 of the upper-cased unified social credit code.
    /// @param identityHash Hash of the off-chain identity bundle.
    function register(
        NodeKind kind,
        Side side,
        uint8 region,
        uint64 capacityKw,
        uint32 carbonIntensityGPerKwh,
        bytes32 entityHash,
        bytes32 identityHash
    ) external;

    /// @notice Add `amountFen` to msg.sender's bond (token transferFrom; needs allowance).
    function depositBond(uint256 amountFen) external;

    /// @notice Take back `amountFen` of msg.sender's bond above its requirement; never while
    /// obligations are open.
    function withdrawBond(uint256 amountFen) external;

    /// @notice Submit or renew a certificate; it counts once a VERIFIER approves it.
    /// @param licenceType The licence type, e.g. bytes32("GEN_LICENCE").
    /// @param numberHash keccak256 of the certificate number.
    /// @param expiresAt Unix time the certificate expires (in the future).
    function submitQualification(bytes32 licenceType, bytes32 numberHash, uint64 expiresAt)
        external;

    /// @notice Ask to change region, capacity, carbon intensity and/or the identity bundle
    /// (name, documents); a VERIFIER reviews it. One request at a time.
    /// @return changeId The request's id.
    function requestChange(
        uint8 region,
        uint64 capacityKw,
        uint32 carbonIntensityGPerKwh,
        bytes32 identityHash
    ) external returns (uint32 changeId);

    /// @notice Leave the market (or withdraw a pending application): no open obligations
    /// and no reserved exposure; the whole bond is returned.
    function exit() external;

    /// @notice Set `node`'s public display name (shown and searched by the explorer; never
    /// personal data). Callable by `node` itself or a VERIFIER, for a node that has applied.
    /// @param node The node named.
    /// @param name 1..64 bytes of UTF-8 (reverts InvalidDisplayName otherwise).
    function setDisplayName(address node, string calldata name) external;

    // ------------------------------------------------------------------ VERIFIER

    /// @notice Admit a pending node.
    function approveNode(address node) external;

    /// @notice Refuse a pending node with a reason code.
    function rejectNode(address node, bytes32 reasonCode) external;

    /// @notice Approve `node`'s pending certificate of `licenceType`.
    function approveQualification(address node, bytes32 licenceType) external;

    /// @notice Refuse `node`'s pending certificate of `licenceType`.
    function rejectQualification(address node, bytes32 licenceType, bytes32 reasonCode)
        external;

    /// @notice Apply `node`'s pending change request.
    function approveChange(address node) external;

    /// @notice Refuse `node`'s pending change request.
    function rejectChange(address node, bytes32 reasonCode) external;

    // ------------------------------------------------------------------ OPERATOR

    /// @notice Set the bond required at credit `level` (0 = AAA .. 8 = C).
    function setBondRequirement(uint8 level, uint256 amountFen) external;

    /// @notice Set the credit level assumed for nodes the agency has not rated.
    function setDefaultCreditLevel(uint8 level) external;

    /// @notice Make `licenceType` required (or not) for nodes of `kind` (at most 8 per kind).
    function setRequiredQualification(NodeKind kind, bytes32 licenceType, bool required)
        external;

    /// @notice ADMIN (the access root's default admin): name the trading market, which
    /// must hold MARKET_CONTRACT now, or clear it with address 0. Its calls of
    /// openTradeObligations, closeTradeObligations, addObligation and removeObligation
    /// then skip the access root (a cold call); every other caller is still checked for
    /// MARKET_CONTRACT. Revoking the market's MARKET_CONTRACT role needs this cleared too.
    function setTradingMarket(address market) external;

    /// @notice Set the inactivity after which the OPERATOR may reclaim a node.
    function setInactivityPeriod(uint64 periodS) external;

    /// @notice Reclaim a node inactive longer than the inactivity period; bond returned.
    function reclaim(address node) external;

    // ------------------------------------------------------------------ REGULATOR

    /// @notice Remove a pending or active node; its bond stays held for pending penalties.
    /// A node removed with obligations open (a debt, an unserved penalty or fine, open
    /// trades) keeps its entity held until they are released (docs/defaults.md 2).
    function removeNode(address node, bytes32 reasonCode) external;

    /// @notice Ban `node`'s entity permanently (removing its enrolled node, if any).
    function banEntity(address node, bytes32 reasonCode) external;

    /// @notice Return the bond held since `node`'s removal (no open obligations).
    function returnHeldBond(address node) external;

    // ------------------------------------------------------------------ CREDIT_AGENCY

    /// @notice Publish `node`'s credit level (0 = AAA .. 8 = C); moves its requirement.
    function setCreditLevel(address node, uint8 level) external;

    // ------------------------------------------------------------------ MARKET_CONTRACT

    /// @notice Reserve seller exposure on `node`'s bond.
    function reserveBond(address node, uint256 amountFen) external;

    /// @notice Release reserved exposure of `node`.
    function releaseBond(address node, uint256 amountFen) external;

    /// @notice Slash min(amountFen, bond) of `node`'s bond to `to` (MARKET_CONTRACT or
    /// REGULATOR). Reserved exposure is not changed (available bond saturates at zero).
    function slash(address node, uint256 amountFen, address to, bytes32 reason)
        external
        returns (uint256 slashedFen);

    /// @notice Open one listing/trade/obligation of `node`, in any registered state: a debt
    /// recorded after the node left binds it and takes its entity back (unless another
    /// address registered the entity meanwhile).
    function addObligation(address node) external;

    /// @notice Close one listing/trade/obligation of `node`.
    function removeObligation(address node) external;

    /// @notice A new trade: addObligation(buyer), addObligation(seller) and, when
    /// `exposureFen` is not zero, reserveBond(seller, exposureFen), in that order.
    function openTradeObligations(address buyer, address seller, uint256 exposureFen) external;

    /// @notice A closed trade: removeObligation(buyer), removeObligation(seller) and, when
    /// `exposureFen` is not zero, releaseBond(seller, exposureFen), in that order.
    function closeTradeObligations(address buyer, address seller, uint256 exposureFen)
        external;

    /// @notice Block `node` from new trading for `reason` (e.g. "DEBT", "BOND_DEADLINE").
    function blockTrading(address node, bytes32 reason) external;

    /// @notice Lift the `reason` block of `node`.
    function unblockTrading(address node, bytes32 reason) external;

    // ------------------------------------------------------------------ views

    /// @notice The settlement token bonds are held in.
    function settlementToken() external view returns (address);

    /// @notice Approved and neither exited nor removed.
    function isActive(address node) external view returns (bool);

    /// @notice Active, bond >= required, required qualifications valid, not blocked.
    function canTrade(address node) external view returns (bool);

    /// @notice Reverts with the first reason `node` cannot trade: NodeNotActive,
    /// TradingBlocked, BondBelowRequirement, QualificationMissing or QualificationExpired.
    /// Returns the node's side and region, so a post or take reads each party once.
    function checkCanTrade(address node) external view returns (Side side, uint8 region);

    /// @notice checkCanTrade of `first`, then of `second` (the first reason either cannot
    /// trade, `first`'s checked first), in one call: a take's taker and maker. Returns
    /// `first`'s side and region and `second`'s region.
    function checkCanTradePair(address first, address second)
        external
        view
        returns (Side firstSide, uint8 firstRegion, uint8 secondRegion);

    function statusOf(address node) external view returns (NodeStatus);
    function sideOf(address node) external view returns (Side);
    function kindOf(address node) external view returns (NodeKind);
    /// @notice Region id 0..31 (the tariff graph's ids).
    function regionOf(address node) external view returns (uint8);
    function capacityKwOf(address node) external view returns (uint64);
    /// @notice g/kWh (0 for non-generators).
    function carbonIntensityOf(address node) external view returns (uint32);
    /// @notice The effective credit level (the default level while unrated).
    function creditLevelOf(address node) external view returns (uint8);
    /// @notice `node`'s public display name ("" if never set).
    function displayNameOf(address node) external view returns (string memory);
    function lastActiveAt(address node) external view returns (uint64);
    function nodeInfo(address node) external view returns (NodeInfo memory);

    /// @notice The bond held for `node`, in fen.
    function bondOf(address node) external view returns (uint256);
    /// @notice The bond `node`'s credit level requires, in fen (0 unless pending or active).
    function requiredBondOf(address node) external view returns (uint256);
    /// @notice The bond minus reserved exposure (0 when slashed below it).
    function availableBondOf(address node) external view returns (uint256);
    /// @notice What `node` may withdraw now (0 with open obligations or a held bond).
    function withdrawableBondOf(address node) external view returns (uint256);
    /// @notice The sum of every node's bond (equals the registry's token balance).
    function totalBondFen() external view returns (uint256);
    function obligationsOf(address node) external view returns (uint256);

    /// @notice The bond required at each credit level, AAA first.
    function bondTable() external view returns (uint256[9] memory amountsFen);
    function defaultCreditLevel() external view returns (uint8);
    function inactivityPeriod() external view returns (uint64);
    /// @notice The trading market set by setTradingMarket (address 0: none).
    function tradingMarket() external view returns (address);
    /// @notice The (<= 8) licence types required for `kind`.
    function requiredQualifications(NodeKind kind) external view returns (bytes32[] memory);

    /// @notice The entity's enrolled node, or the node that left with obligations open
    /// (it still holds the entity), or the zero address.
    function nodeOfEntity(bytes32 entityHash) external view returns (address);
    function isBanned(bytes32 entityHash) external view returns (bool);

    function qualificationOf(address node, bytes32 licenceType)
        external
        view
        returns (QualificationInfo memory);
    function changeRequestOf(address node) external view returns (ChangeRequest memory);

    // ------------------------------------------------------------------ paging views

    /// @notice Every address that ever applied, in first-application order.
    function nodeCount() external view returns (uint256);
    function nodesPage(uint256 offset, uint256 limit) external view returns (address[] memory);
    /// @notice Applications awaiting review (order changes as entries leave).
    function pendingApplicationCount() external view returns (uint256);
    function pendingApplications(uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory);
    /// @notice Nodes with a change request awaiting review.
    function pendingChanges(uint256 offset, uint256 limit) external view returns (address[] memory);
    /// @notice Certificates awaiting review.
    function pendingQualificationCount() external view returns (uint256);
    function pendingQualifications(uint256 offset, uint256 limit)
        external
        view
        returns (QualificationInfo[] memory);
    /// @notice The licence types `node` ever submitted.
    function qualificationTypeCount(address node) external view returns (uint256);
    function qualificationsOf(address node, uint256 offset, uint256 limit)
        external
        view
        returns (QualificationInfo[] memory);
    /// @notice How many certificates were ever approved (the expiry scan's length).
    /// @notice Scan records [offset, offset+limit) and return the valid certificates of
    /// enrolled nodes expiring before `before`; continue from `nextOffset` (== count at end).
    function qualificationsExpiringBefore(uint64 before, uint256 offset, uint256 limit)
        external
        view
        returns (QualificationInfo[] memory items, uint256 nextOffset);
    /// @notice The reasons `node` is blocked for.
    function blockReasonsOf(address node, uint256 offset, uint256 limit)
        external
        view
        returns (bytes32[] memory);
}
