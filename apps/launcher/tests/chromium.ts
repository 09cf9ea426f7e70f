/** Debian's chromium package (`.ci/run` installs it when missing); playwright-core brings no browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
