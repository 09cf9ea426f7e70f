export { startImageWorker, type RunningWorker } from './start-image-worker';
