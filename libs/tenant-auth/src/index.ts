export { TenantDirectory, type Tenant } from './tenant-directory';
export {
  signRequest,
  verifySignedRequest,
  canonicalRequest,
  type SignOptions,
  type SignatureCheck,
  SIGNATURE_PARAM,
  EXPIRES_PARAM,
  TENANT_PARAM,
} from './signed-url';
