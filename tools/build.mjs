// Bundles each app into dist/<app>/main.js. Dependencies stay external, but for the ESM-only ones
// (tools/bundle-externals.mjs); tsconfig path aliases are resolved by esbuild at bundle time, and our own
// .lua scripts are bundled as text.
import { build } from 'esbuild';
import { externalPackages } from './bundle-externals.mjs';

const entries = {
  'service-server/main': 'apps/service-server/src/main.ts',
  'image-worker/main': 'apps/image-worker/src/main.ts',
  'image-worker/render-child': 'apps/image-worker/src/render-child.ts',
  'launcher/main': 'apps/launcher/src/main.ts',
  'cli/main': 'apps/cli/src/main.ts',
};
await Promise.all(
  Object.entries(entries).map(([out, entry]) =>
    build({
      entryPoints: [entry],
      outfile: `dist/${out}.js`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: externalPackages,
      loader: { '.lua': 'text' },
      sourcemap: true,
      logLevel: 'warning',
    }),
  ),
);
