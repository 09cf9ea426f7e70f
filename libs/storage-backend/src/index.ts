export { createImageStorage, type StorageBackend, type StorageBackendOptions } from './create-image-storage';
