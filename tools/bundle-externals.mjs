// What the esbuild bundles leave to node_modules: every dependency (sharp and bullmq ship native
// code and Lua scripts), except the ESM-only ones, which are bundled so the CommonJS bundles load
// them on every Node this project supports (require() of an ES module needs Node 20.19 or later).
import { readFileSync } from 'node:fs';

const ESM_ONLY = ['thumbhash'];

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

export const externalPackages = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((name) => !ESM_ONLY.includes(name));
