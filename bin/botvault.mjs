#!/usr/bin/env node
// The CLI is TypeScript; tsx runs it without a build step (TypeScript 7 has no JS API, so no ts-node).
import { register } from 'tsx/esm/api';

// The project runs on Node 24 (package.json engines; `npx botvault` and npm scripts use the one npm ci installs).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `botvault: needs Node.js 24 or later, this is ${process.version} (run it as \`npx botvault\`, which uses the Node 24 npm ci installed, or \`nvm use\`)\n`,
  );
  process.exit(2);
}

register();
await import('./botvault.ts');
