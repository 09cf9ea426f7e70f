// `npm run bench -- <name>`: builds the apps (the benchmarks run the real bundles), bundles
// bench/<name>.ts and runs it. Without a name it lists the benchmarks.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { build } from 'esbuild';
import { externalPackages } from './bundle-externals.mjs';

const available = readdirSync('bench').filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.log(`usage: npm run bench -- <${available.join('|')}>`);
  process.exit(name ? 1 : 0);
}
execFileSync(process.execPath, ['tools/build.mjs'], { stdio: 'inherit' });
await build({
  entryPoints: [`bench/${name}.ts`],
  outfile: `dist/bench/${name}.js`,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: externalPackages,
  loader: { '.lua': 'text' },
  logLevel: 'warning',
});
execFileSync(process.execPath, [`dist/bench/${name}.js`, ...process.argv.slice(3)], { stdio: 'inherit', env: { ...process.env, UV_THREADPOOL_SIZE: '4' } });
