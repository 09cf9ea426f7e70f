export { createRenderPipeline, type RenderPipeline } from './render-pipeline';
export type { RenderPipelineDeps, RunOptions, OriginalSource, DownloadLeases, OriginSlots, OriginSlot, Renderer, BigLaneThresholds } from './pipeline-context';
