import { toImageCloudError } from '@image-cloud/errors';
import type { WorkerMetrics } from '@image-cloud/metrics';
import type { OriginFetcher } from '@image-cloud/origin-fetch';

export interface MeasuredFetcher extends OriginFetcher {
  /** Downloads running right now. */
  readonly inFlight: number;
}

/** The origin fetcher, with every download's outcome (ok or error code) and time counted per domain. */
export function measuredDownloads(origin: OriginFetcher, metrics: WorkerMetrics): MeasuredFetcher {
  let inFlight = 0;
  return {
    get inFlight() {
      return inFlight;
    },
    async fetch(url, options) {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      inFlight++;
      try {
        const fetched = await origin.fetch(url, options);
        metrics.observeDownload({ url, outcome: 'ok', seconds: seconds() });
        return fetched;
      } catch (error) {
        metrics.observeDownload({ url, outcome: toImageCloudError(error).code, seconds: seconds() });
        throw error;
      } finally {
        inFlight--;
      }
    },
  };
}
