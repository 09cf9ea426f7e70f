export { createImageStorage, type StorageBackend, type StorageBackendOptions, type StorageChangeListener } from './create-image-storage';
