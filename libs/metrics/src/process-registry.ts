import { Registry, collectDefaultMetrics } from 'prom-client';

/** What a process is within the cloud; every series it exports carries these two labels. */
export interface ProcessIdentity {
  /** `server`, `worker-normal`, `worker-big` or `launcher`. */
  role: string;
  /** Which one of its role under `npm start` (0, 1, …); in a cluster Prometheus's `instance` tells replicas apart. */
  index: number;
}

/**
 * The metrics registry of one process, with the usual process metrics (CPU, RSS, heap, event-loop
 * lag, GC) and `role`/`index` on every series, so one scrape can carry several processes' series.
 */
export function createProcessRegistry(identity: ProcessIdentity): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role: identity.role, index: String(identity.index) });
  collectDefaultMetrics({ register: registry });
  return registry;
}
