// Module boundaries as real rules: which lib may import which, and which external packages each
// concern may touch (only imaging imports sharp, only the server imports express, util libs never
// import bullmq or ioredis, the worker never imports express). Specs may also use test helpers.
import tseslint from 'typescript-eslint';

/** Internal dependencies each project may import (besides its own files). */
const ALLOWED = {
  'libs/errors': [],
  'libs/http-caching': [],
  'libs/contracts': [],
  'libs/config': ['contracts', 'redis-address'],
  'libs/logger': [],
  'libs/metrics': ['contracts', 'errors'],
  'libs/storage': [],
  'libs/memory-tier': [],
  'libs/storage-cache': ['redis-address', 'storage'],
  'libs/s3-storage': ['errors', 'storage', 'storage-cache'],
  'libs/storage-backend': ['config', 'errors', 's3-storage', 'storage', 'storage-cache'],
  'libs/redis-address': [],
  'libs/redis-scripts': [],
  'libs/imaging': ['contracts', 'errors'],
  'libs/origin-fetch': ['contracts', 'errors'],
  'libs/job-queue': ['contracts', 'errors', 'redis-address'],
  'libs/lane-policy': ['contracts', 'redis-scripts'],
  'libs/origin-protection': ['contracts', 'redis-scripts'],
  'libs/image-pipeline': ['contracts', 'errors', 'imaging', 'lane-policy', 'storage'],
  'libs/image-service': ['contracts', 'errors', 'job-queue', 'lane-policy', 'storage'],
  'libs/openapi': ['contracts', 'errors', 'image-service'],
  'libs/prefetch': ['contracts', 'errors', 'job-queue', 'redis-scripts', 'storage'],
  'libs/render-sandbox': ['contracts', 'errors', 'imaging'],
  'libs/worker-runtime': ['config', 'contracts', 'errors', 'image-pipeline', 'imaging', 'job-queue', 'lane-policy', 'logger', 'metrics', 'origin-fetch', 'origin-protection', 'prefetch', 'render-sandbox', 'storage', 'storage-backend'],
  'libs/process-lifecycle': ['config'],
  'libs/local-cluster': ['process-lifecycle', 'redis-address'],
  'libs/testing': ['redis-address'],
  'libs/tenant-auth': ['redis-scripts'],
  'apps/service-server': ['config', 'contracts', 'errors', 'http-caching', 'image-service', 'job-queue', 'lane-policy', 'logger', 'memory-tier', 'metrics', 'openapi', 'prefetch', 'process-lifecycle', 'storage', 'storage-backend', 'tenant-auth'],
  'apps/image-worker': ['config', 'logger', 'metrics', 'process-lifecycle', 'render-sandbox', 'worker-runtime'],
  'apps/launcher': ['config', 'local-cluster', 'logger', 'metrics', 'process-lifecycle'],
  'apps/cli': ['contracts', 'tenant-auth'],
};

/** What specs may import on top: the test helpers and the pieces they assemble a system from. */
const SPEC_EXTRA = ['metrics', 'tenant-auth', 'lane-policy', 'testing', 'imaging/testing', 'storage/testing', 's3-storage/testing', 'worker-runtime', 'config', 'logger', 'errors', 'contracts', 'imaging', 'job-queue', 'local-cluster', 'redis-address'];

const SPEC_EXTERNAL = ['ioredis', 'bullmq'];

/** External packages and the only projects that may import them. */
const EXTERNAL_OWNERS = {
  sharp: ['libs/imaging'],
  express: ['apps/service-server'],
  got: ['libs/origin-fetch'],
  bullmq: ['libs/job-queue', 'libs/worker-runtime'],
  'prom-client': ['libs/metrics'],
  ioredis: ['libs/redis-address', 'libs/job-queue', 'libs/lane-policy', 'libs/origin-protection', 'libs/prefetch', 'libs/redis-scripts', 'libs/tenant-auth', 'libs/local-cluster', 'libs/testing', 'libs/storage-cache', 'apps/service-server'],
  '@aws-sdk/client-s3': ['libs/s3-storage'],
};

const INTERNAL = [...Object.keys(ALLOWED).filter((p) => p.startsWith('libs/')).map((p) => p.slice(5)), 'imaging/testing', 'storage/testing', 's3-storage/testing'];

function restrictedImports(project, allowed, isSpec) {
  const forbiddenInternal = INTERNAL.filter((name) => !allowed.includes(name) && `libs/${name}` !== project);
  // Specs talk to the real Redis and BullMQ, so they may use those clients directly.
  const forbiddenExternal = Object.keys(EXTERNAL_OWNERS).filter(
    (name) => !EXTERNAL_OWNERS[name].includes(project) && !(isSpec && SPEC_EXTERNAL.includes(name)),
  );
  return [
    'error',
    {
      paths: [
        ...forbiddenInternal.map((name) => ({ name: `@image-cloud/${name}`, message: `${project} may not depend on ${name} (see eslint.config.mjs).` })),
        ...forbiddenExternal.map((name) => ({ name, message: `Only ${EXTERNAL_OWNERS[name].join(', ')} may import ${name}.` })),
      ],
      patterns: [
        { group: ['@image-cloud/*/src', '@image-cloud/*/src/*'], message: 'Import a lib through its index, never its insides.' },
        { group: ['../../*', '../../../*'], message: 'Relative imports may not leave the project; import the lib by its @image-cloud name.' },
      ],
    },
  ];
}

const boundaries = Object.entries(ALLOWED).flatMap(([project, allowed]) => [
  {
    files: [`${project}/src/**/*.ts`],
    ignores: [`${project}/src/**/*.spec.ts`],
    rules: { 'no-restricted-imports': restrictedImports(project, allowed, false) },
  },
  {
    files: [`${project}/src/**/*.spec.ts`, `${project}/tests/**/*.ts`],
    rules: { 'no-restricted-imports': restrictedImports(project, [...allowed, ...SPEC_EXTRA], true) },
  },
]);

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'tmp/**', 'coverage/**', '.nx/**', '**/*.cjs', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // A stream declared before the closures that destroy it is assigned once, later.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  ...boundaries,
);
