#!/usr/bin/env node
// The CLI is TypeScript; tsx runs it without a build step (TypeScript 7 has no JS API, so no ts-node).
import { register } from 'tsx/esm/api';

// The pinned AWS SDK warns on every start that its releases after January 2027
// need Node 22; BotVault's lockfile pins SDK versions that run on Node 20 (and
// the Lambdas run on Node 24), so the warning is noise in every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('./botvault.ts');
