#!/usr/bin/env node
// A solc-compatible front for solc-js, driven by py-solc-x.
//   --version          prints "Version: <long version>" (what py-solc-x parses)
//   --standard-json    reads standard JSON on stdin, writes standard JSON on stdout
// solc-js cannot read files itself: imports are resolved by the callback below from
// GRIDLEDGER_SOLC_ROOTS (colon-separated; default: ../contracts's parent and node_modules).
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('solc-wrapper: only --version and --standard-json are supported\n');
  process.exit(2);
}

const roots = (process.env.GRIDLEDGER_SOLC_ROOTS ||
  [path.resolve(__dirname, '..'), path.resolve(__dirname, 'node_modules')].join(':'))
  .split(':').filter(Boolean);

function findImports(importPath) {
  if (path.isAbsolute(importPath) || importPath.split('/').includes('..')) {
    return { error: `import outside the allowed roots: ${importPath}` };
  }
  for (const root of roots) {
    const candidate = path.join(root, importPath);
    if (fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, 'utf8') };
    }
  }
  return { error: `file not found in ${roots.join(', ')}: ${importPath}` };
}

const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const input = Buffer.concat(chunks).toString('utf8');
  process.stdout.write(solc.compile(input, { import: findImports }));
});
