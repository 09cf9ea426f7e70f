// Shared jest settings: swc transpiles TypeScript (type checking is the separate `typecheck` target),
// tsconfig path aliases map to the libs' sources so tests run without a build, and .lua scripts load
// as text the way the esbuild bundles load them.
const path = require('node:path');
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = {};
for (const [alias, [target]] of Object.entries(compilerOptions.paths)) {
  moduleNameMapper[`^${alias.replace(/[/.]/g, '\\$&')}$`] = path.join(__dirname, target);
}

/** @param {string} projectDir absolute path of the project (its jest.config.cjs's __dirname) */
module.exports = function jestPreset(projectDir, overrides = {}) {
  return {
    displayName: path.relative(__dirname, projectDir),
    rootDir: projectDir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/tests/**/*.spec.ts'],
    transform: {
      '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
      '^.+\\.lua$': path.join(__dirname, 'tools/jest-text-transform.cjs'),
      // ESM-only dependencies, turned into CommonJS for jest's module system.
      '/node_modules/thumbhash/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
    },
    transformIgnorePatterns: ['/node_modules/(?!thumbhash/)'],
    moduleNameMapper,
    testTimeout: 30_000,
    ...overrides,
  };
};
