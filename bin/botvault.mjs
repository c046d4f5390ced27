#!/usr/bin/env node
// The CLI is TypeScript; tsx runs it without a build step (TypeScript 7 has no JS API, so no ts-node).
import { register } from 'tsx/esm/api';

register();
await import('./botvault.ts');
