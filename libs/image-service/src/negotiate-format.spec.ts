import { explicitlyAccepted, negotiateFormat } from './negotiate-format';

const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
const OLD_SAFARI = 'image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5';
const opaque = async () => false;
const transparent = async () => true;

describe('negotiateFormat', () => {
  it('picks AVIF, then WebP, from the types the Accept header names', async () => {
    expect(await negotiateFormat(CHROME, opaque)).toBe('avif');
    expect(await negotiateFormat('image/webp,*/*', opaque)).toBe('webp');
    expect(await negotiateFormat('image/avif;q=0.5, image/webp', opaque)).toBe('webp');
    expect(await negotiateFormat('IMAGE/AVIF', opaque)).toBe('avif');
  });

  it('takes wildcards and q=0 for no support: JPEG, or PNG for an image with alpha', async () => {
    expect(await negotiateFormat('*/*', opaque)).toBe('jpeg');
    expect(await negotiateFormat('image/*', opaque)).toBe('jpeg');
    expect(await negotiateFormat(undefined, opaque)).toBe('jpeg');
    expect(await negotiateFormat(OLD_SAFARI, opaque)).toBe('jpeg');
    expect(await negotiateFormat('image/avif;q=0,image/webp;q=0,*/*', opaque)).toBe('jpeg');
    expect(await negotiateFormat(OLD_SAFARI, transparent)).toBe('png');
    expect(await negotiateFormat(CHROME, transparent)).toBe('avif');
  });

  it('asks about alpha only when neither AVIF nor WebP is accepted', async () => {
    const hasAlpha = jest.fn(opaque);
    await negotiateFormat(CHROME, hasAlpha);
    expect(hasAlpha).not.toHaveBeenCalled();
  });

  it('reads q values and skips wildcards', () => {
    expect([...explicitlyAccepted('image/webp;q=0.7, */*;q=0.1, image/*')]).toEqual([['image/webp', 0.7]]);
  });
});
