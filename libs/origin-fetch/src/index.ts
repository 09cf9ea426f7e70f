export { createOriginFetcher } from './create-origin-fetcher';
export type { FetchedOriginal, FetchOriginOptions, OriginFetcher, OriginFetcherOptions } from './origin-fetcher-types';
