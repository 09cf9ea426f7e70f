// Jest globalSetup for suites that start real child processes (render children, the launcher):
// bundles the apps into dist/ first, the same way `npm start` does.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function buildApps() {
  execFileSync(process.execPath, [path.join(__dirname, 'build.mjs')], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
};
