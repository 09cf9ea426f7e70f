module.exports = require('../../jest.preset.cjs')(__dirname, { globalSetup: '<rootDir>/../../tools/jest-build-apps.cjs' });
