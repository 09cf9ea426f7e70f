import { createHmac, timingSafeEqual } from 'node:crypto';

/** Query parameters that carry the signature itself and never take part in it. */
export const SIGNATURE_PARAM = 'signature';
export const EXPIRES_PARAM = 'expires';
export const TENANT_PARAM = 'tenant';
const UNSIGNED_PARAMS = new Set([SIGNATURE_PARAM, 'token']);

/**
 * The text a signature covers: the path and every parameter except the signature (and a legacy
 * token), sorted by name then value, form-encoded. Sorting makes the signature independent of the
 * order a browser or a CDN keeps the parameters in.
 */
export function canonicalRequest(path: string, params: Iterable<[string, string]>): string {
  const signed = [...params].filter(([name]) => !UNSIGNED_PARAMS.has(name));
  signed.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return `${path}?${new URLSearchParams(signed).toString()}`;
}

function hmac(key: string, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

export interface SignOptions {
  /** Path of the endpoint, e.g. "/get_image". */
  path: string;
  /** The request's parameters (url, resize_width, …). */
  params: Record<string, string>;
  /** Tenant the requests count against (its rate limit). */
  tenant: string;
  /** Unix seconds after which the URL is refused. */
  expiresAt: number;
  /** One of CONFIG's signingKeys. */
  key: string;
}

/**
 * A signed, expiring path+query for browsers: HMAC-SHA256 over the canonical request, base64url.
 * Append it to the cloud's base URL. No token appears in it.
 */
export function signRequest(options: SignOptions): string {
  const params = new URLSearchParams({ ...options.params, [TENANT_PARAM]: options.tenant, [EXPIRES_PARAM]: String(options.expiresAt) });
  const signature = hmac(options.key, canonicalRequest(options.path, params)).toString('base64url');
  params.set(SIGNATURE_PARAM, signature);
  return `${options.path}?${params.toString()}`;
}

export type SignatureCheck = { ok: true; tenant: string } | { ok: false; reason: string };

/**
 * The one encoding of a signature: HMAC-SHA256, base64url without padding (43 characters). Any
 * other spelling that decodes to the same bytes (`…=`, `…%3D`, a trailing `.` or space) is
 * refused, so nobody can mint new CDN cache keys for one signed image.
 */
const CANONICAL_SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/** Verified signatures remembered by the module's verifier (verifySignedRequest). */
export const VERIFIED_SIGNATURES_KEPT = 10_000;

/**
 * Longest request text (path and signed parameters) remembered: signed URLs are a few hundred
 * characters; longer ones are verified every time, so the memory stays bounded (10 000 × 2 KB at
 * worst, a few MB for usual URLs).
 */
const LONGEST_REMEMBERED_REQUEST = 2_048;

/** A signature that verified (its canonical text, as given), and the signing key it verified with. */
interface VerifiedSignature {
  signature: string;
  key: string;
}

/**
 * Compares two strings of equal length in time independent of where they differ. Kept as strings,
 * remembered signatures need no Buffer per entry or per check (Buffers kept by the thousand made
 * the garbage collector the largest cost of verifying).
 */
function equalInConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/**
 * The text a signature covers, as a memory key: the path and every signed parameter in the order
 * given (which determines the canonical text, and costs no sorting), each length-prefixed so no
 * name or value can run into the next.
 */
function signedTextKey(path: string, params: Array<[string, string]>): string {
  let key = `${path.length}:${path}`;
  for (const [name, value] of params) if (!UNSIGNED_PARAMS.has(name)) key += `${name.length}:${name}${value.length}:${value}`;
  return key;
}

/**
 * Checks signed requests and remembers the ones that verified, so a signed URL requested again
 * skips the HMAC. Everything but the HMAC is checked on every call: the parameters' shape, expiry
 * and the longest lifetime against `nowSeconds`, the signature against the remembered one in
 * constant time, and that the key it verified with is still one of `keys` (a retired key's
 * signatures stop verifying at once). Only a signature that verified is remembered, keyed by
 * everything the HMAC covers (path and every parameter but the signature); the signature is the
 * value, not part of the key, so looking up a forged one compares no secret bytes in variable time.
 *
 * At most `capacity` entries, in two generations of half of it: when the newer is full it becomes
 * the older and the older is dropped; an entry found in the older moves to the newer. So what is
 * used stays, as in an LRU, with no per-hit reordering and no scan for the oldest entry.
 */
export class SignedRequestVerifier {
  private newer = new Map<string, VerifiedSignature>();
  private older = new Map<string, VerifiedSignature>();
  private readonly generationSize: number;
  private hmacs = 0;

  constructor(capacity = VERIFIED_SIGNATURES_KEPT) {
    this.generationSize = Math.floor(capacity / 2);
  }

  /** HMACs computed so far (one per current key for each request not answered from memory). */
  get hmacsComputed(): number {
    return this.hmacs;
  }

  /** Checks a signed request against every current signing key (several at once allow rotation). */
  verify(
    path: string,
    params: Array<[string, string]>,
    keys: readonly string[],
    nowSeconds: number,
    /** Expiries further ahead than this are refused. @defaultValue no maximum */
    maxLifetimeSeconds = Infinity,
  ): SignatureCheck {
    let signature: string | undefined;
    let expires: string | undefined;
    let tenant: string | undefined;
    let repeated = false;
    for (const [name, value] of params) {
      if (name === SIGNATURE_PARAM) {
        repeated ||= signature !== undefined;
        signature = value;
      } else if (name === EXPIRES_PARAM) {
        repeated ||= expires !== undefined;
        expires = value;
      } else if (name === TENANT_PARAM) {
        repeated ||= tenant !== undefined;
        tenant = value;
      }
    }
    if (repeated || !signature || !expires || !tenant) return { ok: false, reason: 'A signed URL needs exactly one signature, expires and tenant parameter.' };
    if (!/^\d{1,12}$/.test(expires)) return { ok: false, reason: 'The expires parameter must be Unix seconds.' };
    if (Number(expires) < nowSeconds) return { ok: false, reason: 'The signed URL has expired.' };
    if (Number(expires) > nowSeconds + maxLifetimeSeconds) {
      return { ok: false, reason: `The signed URL expires more than ${maxLifetimeSeconds} seconds from now, longer than a signed URL may live.` };
    }
    if (!CANONICAL_SIGNATURE.test(signature)) return { ok: false, reason: 'The signature is not in its canonical encoding (unpadded base64url).' };

    const signedText = signedTextKey(path, params);
    const remembered = this.recall(signedText);
    if (remembered && keys.includes(remembered.key) && equalInConstantTime(signature, remembered.signature)) return { ok: true, tenant };

    const given = Buffer.from(signature, 'base64url');
    const text = canonicalRequest(path, params);
    let verifiedWith: string | undefined;
    for (const key of keys) {
      const expected = hmac(key, text);
      this.hmacs++;
      if (given.length === expected.length && timingSafeEqual(given, expected)) verifiedWith ??= key;
    }
    if (verifiedWith === undefined) return { ok: false, reason: 'The signature does not match this URL.' };
    if (signedText.length <= LONGEST_REMEMBERED_REQUEST) this.remember(signedText, { signature, key: verifiedWith });
    return { ok: true, tenant };
  }

  private recall(signedText: string): VerifiedSignature | undefined {
    const recent = this.newer.get(signedText);
    if (recent) return recent;
    const old = this.older.get(signedText);
    if (old) this.remember(signedText, old);
    return old;
  }

  private remember(signedText: string, verified: VerifiedSignature): void {
    if (this.generationSize === 0) return;
    if (this.newer.size >= this.generationSize) {
      this.older = this.newer;
      this.newer = new Map();
    }
    this.newer.set(signedText, verified);
  }
}

const verifier = new SignedRequestVerifier();

/**
 * Checks a signed request against every current signing key (several at once allow rotation).
 * Signatures compare in constant time. Verified signatures are remembered by one verifier per
 * process (SignedRequestVerifier): a repeated signed URL costs no HMAC; expiry is checked every time.
 */
export function verifySignedRequest(...args: Parameters<SignedRequestVerifier['verify']>): SignatureCheck {
  return verifier.verify(...args);
}
