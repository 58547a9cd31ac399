/**
 * `node --import ./app/ts-loader.mjs app/main.ts`: runs the platform's TypeScript sources (see
 * app/ts-hooks.mjs), with stack traces mapped back to them.
 */
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./ts-hooks.mjs', import.meta.url);
