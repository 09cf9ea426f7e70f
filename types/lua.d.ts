/**
 * Lua scripts are kept as .lua files and imported as their source text: esbuild's text loader in
 * the bundles (tools/build.mjs), tools/jest-text-transform.cjs in the tests.
 */
declare module '*.lua' {
  const source: string;
  export default source;
}
