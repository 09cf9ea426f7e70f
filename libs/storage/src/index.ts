export type { ImageStorage, OriginalMeta, VariantMeta, NewOriginalMeta, NewVariantMeta, StoredObject } from './image-storage';
