// Jest transformer for files imported as text (the .lua scripts): the module's default export is
// the file's content, as esbuild's text loader makes it in the bundles.
module.exports = {
  process(source) {
    return { code: `module.exports = ${JSON.stringify(source)};` };
  },
};
