import { serveRenderRequests } from '@image-cloud/render-sandbox';

// A render child process of an image worker: renders one image at a time, killed when over budget.
// Ctrl-C sends SIGINT to the whole process group at once; the worker decides when its render
// children stop (SIGTERM when it closes, or they exit when it goes away), so an interrupt that
// reached the child first must not end it and be taken for a crash.
process.on('SIGINT', () => undefined);
serveRenderRequests();
