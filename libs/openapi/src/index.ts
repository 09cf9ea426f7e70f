export { imageCloudOpenApiDocument, type ImageCloudApiOptions } from './image-cloud-api';
export { buildOpenApiDocument, openApiPath, type DocumentSpec, type OperationSpec, type ResponseSpec, type JsonObject } from './openapi-document';
export {
  imageInfoSchema,
  originalInfoSchema,
  deleteResultSchema,
  alternativeCloudsSchema,
  healthSchema,
  readinessSchema,
  fireAndForgetBodySchema,
} from './answer-schemas';
