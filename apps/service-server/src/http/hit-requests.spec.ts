import { originalKeyOf, variantKeyOf } from '@image-cloud/contracts';
import { HitRequests, ORIGINAL_LEAF } from './hit-requests';

const options = { open: false, signedUrlFormat: 'auto' as const, thumbnailSizes: [200, 250], quality: 80 };
const origin = 'http://images.example.com/a/photo.jpg';
const query = (params: Record<string, string>) => new URLSearchParams({ url: origin, ...params }).toString();

it('names the stored objects by the keys the image service stores them under', () => {
  const requests = new HitRequests(options);
  const variant = requests.get(`/get_image?${query({ resize_width: '200', quality: '80' })}`)!;
  expect(variant.originalKey).toBe(originalKeyOf(origin));
  // quality=80 is the default, so it is not part of the key.
  expect(variant.fixedLeaf).toBe(variantKeyOf(origin, { width: 200, fit: 'inside', format: 'jpeg' }));
  expect(requests.get(`/get_image?${query({})}`)!.fixedLeaf).toBe(ORIGINAL_LEAF);
  expect(requests.get(`/get_thumbnail?${query({ size: '250' })}`)!.fixedLeaf).toBe(variantKeyOf(origin, { width: 250, height: 250, fit: 'inside', format: 'jpeg' }));
});

it('leaves the format of a negotiated request to the Accept header, one key per format', () => {
  const requests = new HitRequests(options);
  const negotiated = requests.get(`/get_image?${query({ resize_width: '100', format_when_resize: 'auto' })}`)!;
  expect(negotiated.fixedLeaf).toBeUndefined();
  expect(requests.leafFor(negotiated, 'webp')).toBe(variantKeyOf(origin, { width: 100, fit: 'inside', format: 'webp' }));
  expect(requests.leafFor(negotiated, 'avif')).toBe(variantKeyOf(origin, { width: 100, fit: 'inside', format: 'avif' }));
});

it('negotiates signed URLs without a format when so configured, except in open mode where signatures are not read', () => {
  const signed = `/get_image?${query({ resize_width: '100', tenant: 'shop', expires: '2000000000', signature: 'x'.repeat(43) })}`;
  const withTenants = new HitRequests(options).get(signed)!;
  expect([withTenants.signed, withTenants.expiresAt, withTenants.request.negotiateFormat]).toEqual([true, 2_000_000_000, true]);
  expect(new HitRequests({ ...options, open: true }).get(signed)!.request.negotiateFormat).toBe(false);
});

it('parses a URL once, and leaves one that does not parse (or asks for JSON) to the express chain', () => {
  const requests = new HitRequests(options);
  const url = `/get_image?${query({ resize_width: '120' })}`;
  expect(requests.get(url)).toBe(requests.get(url));
  for (const bad of [`/get_image?${query({ resize_widht: '120' })}`, `/get_image?${query({ resize_width: '0' })}`, '/get_image?url=not-a-url', `/get_image?${query({ no_image: 'true' })}`, `/image_info?${query({})}`]) {
    expect(requests.get(bad)).toBeUndefined();
  }
});
