// Hardhat configuration for GridLedger's alternative local engine and for tools
// (crytic-compile/slither) that read a Hardhat project layout. The canonical build is
// `gridledger contracts build` (same compiler version and settings, artifacts in ../artifacts).
const chainId = Number(process.env.GRIDLEDGER_CHAIN_ID || 31415);
const blockTime = Number(process.env.GRIDLEDGER_BLOCK_TIME_S || 0);

module.exports = {
  solidity: {
    version: '0.8.30',
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'paris' },
  },
  paths: { sources: '../contracts', artifacts: '../artifacts', cache: './cache' },
  networks: {
    hardhat: {
      chainId,
      initialBaseFeePerGas: 0,
      mining: blockTime > 0 ? { auto: false, interval: blockTime * 1000 } : { auto: true },
    },
  },
};
