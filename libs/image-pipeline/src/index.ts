export { createFetchPipeline, type FetchPipeline } from './fetch/fetch-pipeline';
export type {
  FetchPipelineDeps,
  FetchRunOptions,
  FetchOutcome,
  OriginalSource,
  DownloadLease,
  DownloadLeases,
  OriginSlots,
  OriginSlot,
  OriginSlotAttempt,
  SlotReleases,
} from './fetch/fetch-ports';
export { createRenderPipeline, type RenderPipeline } from './render/render-pipeline';
export type { RenderPipelineDeps, RenderRunOptions, RenderOutcome, Renderer, RenderCostPort } from './render/render-ports';
