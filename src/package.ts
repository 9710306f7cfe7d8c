// Where the package lives: its root, its compiled CLI, the C programs node-gyp builds, its version.
// src/package.ts and dist/package.js are both one level below the root, so the paths hold for both.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package root, with a trailing slash. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The compiled `selectchat` command (`npm run build` writes it). */
export const CLI_ENTRY = `${PACKAGE_ROOT}dist/cli/main.js`;

/** Where node-gyp puts the addon and the C benchmark programs, with a trailing slash. */
export const BUILD_DIR = `${PACKAGE_ROOT}build/Release/`;

/** The version in package.json. */
export function packageVersion(): string {
  return String(JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, 'utf8')).version);
}
