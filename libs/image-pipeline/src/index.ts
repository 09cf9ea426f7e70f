export { createRenderPipeline, type RenderPipeline } from './render-pipeline';
export type { RenderPipelineDeps, RunOptions, OriginalSource, DownloadLeases } from './pipeline-context';
