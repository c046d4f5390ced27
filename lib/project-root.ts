import { fileURLToPath } from 'node:url';

/** The repository root: `lambdas/`, `package-lock.json` and `node_modules/` live there. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
