// Bundles each app into dist/<app>/main.js. Dependencies stay external (sharp and bullmq ship native
// code and Lua scripts); tsconfig path aliases are resolved by esbuild at bundle time.
import { build } from 'esbuild';

const apps = ['service-server', 'image-worker', 'launcher'];
await Promise.all(
  apps.map((app) =>
    build({
      entryPoints: [`apps/${app}/src/main.ts`],
      outfile: `dist/${app}/main.js`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      packages: 'external',
      sourcemap: true,
      logLevel: 'warning',
    }),
  ),
);
