export { S3ImageStorage, type S3ImageStorageOptions } from './s3-image-storage';
