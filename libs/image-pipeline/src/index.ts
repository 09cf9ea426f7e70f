export { createRenderPipeline, type RenderPipeline } from './render-pipeline';
export type { RenderPipelineDeps, RunOptions, OriginalSource, DownloadLeases, Renderer, BigLaneThresholds } from './pipeline-context';
