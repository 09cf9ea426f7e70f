export { createProcessRegistry, type ProcessIdentity } from './process-registry';
export { ServerMetrics, type ServerMetricsOptions, type ObservedRequest, type CacheResult, type ClusterState, type QueueDepth, type LaneSlots } from './server-metrics';
export { WorkerMetrics, type WorkerMetricsOptions, type ObservedJob, type ObservedDownload } from './worker-metrics';
export { domainLabeller, OTHER_DOMAIN } from './domain-label';
export { scrapeText, mergeProcessMetrics, type ProcessMetrics } from './merge-metrics';
export { answerMetricsRequests, askLauncherForMetrics, serveClusterMetrics, type IpcChannel } from './cluster-metrics';
export { startMetricsHttpServer, type RunningMetricsServer } from './metrics-http-server';
export type { Registry } from 'prom-client';
export { STATUS_PAGE_HTML, STATUS_PAGE_CSP } from './status-page';
