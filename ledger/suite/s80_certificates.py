"""Green certificates and renewable quotas (mechanism 7).

Main-chain mode (the default, ``GRIDLEDGER_CERT_RPC_URL`` unset): ``OracleGenerationSource``
reads MeterOracle, NodeRegistry and TradingMarket; ``GreenCertificate`` (ERC-1155) issues from
it; ``QuotaLedger`` holds MARKET_CONTRACT (it retires certificates, slashes bonds for
fines and holds a registry obligation on a party while its fine is unpaid);
``CertificateMarket`` is the one-way listing.

Auxiliary-chain mode: :data:`AUX_SPECS` is deployed on the certificate chain by
``gridledger certs deploy-aux`` (``node.certificates.api.deploy_certificate_chain``): the chain's
own ``MarketAccess`` and ``SettlementToken`` and ``RelayedGeneration`` (fed by the oracle's
relayer) instead of the main chain's oracle, registry and market. The main-chain suite still
carries its own (then unused) certificate contracts: the suite list is static.
"""

from ledger.suite.spec import ContractSpec, DeployEnv

ZERO = "0x0000000000000000000000000000000000000000"
#: Quota weight per MWh of each renewable type at deploy (basis points; REGULATOR changes
#: them with ``setTypeWeight``): Wind, Solar, Hydro, Biomass.
DEFAULT_TYPE_WEIGHTS_BPS = [10_000, 10_000, 9_500, 10_500]
#: ERC-1155 metadata URI of the certificates (none).
CERTIFICATE_URI = ""


def _certificate_specs(source: str, registry: str) -> list[ContractSpec]:
    return [
        ContractSpec(
            "GreenCertificate",
            lambda env: [env.addresses["MarketAccess"], env.addresses[source], CERTIFICATE_URI],
        ),
        ContractSpec(
            "QuotaLedger",
            lambda env: [
                env.addresses["MarketAccess"],
                env.addresses["GreenCertificate"],
                env.addresses[source],
                env.addresses.get(registry, ZERO),
                env.addresses["SettlementToken"],
                DEFAULT_TYPE_WEIGHTS_BPS,
            ],
            roles=("MARKET_CONTRACT",),
        ),
        ContractSpec(
            "CertificateMarket",
            lambda env: [
                env.addresses["GreenCertificate"],
                env.addresses[source],
                env.addresses["SettlementToken"],
            ],
        ),
    ]


def _oracle_source_args(env: DeployEnv) -> list[str]:
    return [
        env.addresses["MeterOracle"],
        env.addresses["NodeRegistry"],
        env.addresses.get("TradingMarket", ZERO),
    ]


SPECS = [
    ContractSpec("OracleGenerationSource", _oracle_source_args),
    *_certificate_specs("OracleGenerationSource", "NodeRegistry"),
]

#: The certificate chain's own suite (auxiliary-chain mode), in deployment order.
AUX_SPECS = [
    ContractSpec("MarketAccess", lambda env: [env.settings.admin_transfer_delay_s, env.admin]),
    ContractSpec("SettlementToken", lambda env: [env.addresses["MarketAccess"]]),
    ContractSpec("RelayedGeneration", lambda env: [env.addresses["MarketAccess"]]),
    *_certificate_specs("RelayedGeneration", "NodeRegistry"),
]
