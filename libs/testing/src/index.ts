export {
  startOriginServer,
  contentTypeFor,
  TINY_JPEG,
  type OriginServer,
  type OriginServerOptions,
  type OriginHandler,
} from './origin-server';
export { TEST_REDIS_URL, uniquePrefix, deleteKeysWithPrefix, countKeysWithPrefix } from './redis-test-prefix';
export { SHARED_FIXTURES_DIR, CORPUS_DIR, BENCH_PHOTOS_DIR, hasCorpus, readManifest, type ManifestRow } from './fixtures';
export { freePort } from './free-port';
export { waitForHttp } from './wait-for-http';
export { DIST_DIR, type BuiltApp, spawnBuiltApp, stopProcesses } from './built-apps';
export { type SlowDrip, serveSlowDrip } from './slow-drip-origin';
export { type HttpOutcome, httpGet } from './http-outcome';
export { waitUntil } from './wait-until';
