import { serveRenderRequests } from '@image-cloud/render-sandbox';

// A render child process of an image worker: renders one image at a time, killed when over budget.
serveRenderRequests();
