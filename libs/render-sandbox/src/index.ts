export { RenderPool, type RenderPoolOptions } from './render-pool';
export { serveRenderRequests } from './serve-render-requests';
