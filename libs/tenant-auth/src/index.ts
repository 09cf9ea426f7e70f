export { TenantDirectory, type Tenant } from './tenant-directory';
export { signRequest, verifySignedRequest, type SignOptions, type SignatureCheck, SIGNATURE_PARAM, EXPIRES_PARAM } from './signed-url';
export { TenantRateLimiter, type RateDecision } from './tenant-rate-limiter';
