import { parseGetImageRequest, parseGetThumbnailRequest } from './get-image-request';
import { OUTPUT_FORMATS } from '@image-cloud/contracts';
import { getImageQuerySchema } from './query-schemas';

const url = 'https://shop.example/p.jpg';

describe('parseGetImageRequest', () => {
  it('applies the legacy defaults', () => {
    expect(parseGetImageRequest({ url })).toEqual({ url, transform: null, negotiateFormat: false, noImage: false, onlySendIfLocal: false, useAlternativeClouds: false });
    expect(parseGetImageRequest({ url, resize_width: '200' }).transform).toEqual({ width: 200, fit: 'inside', format: 'jpeg' });
  });

  it('maps keep_aspect_ratio and force_to_size to fits', () => {
    expect(parseGetImageRequest({ url, resize_width: '2', resize_height: '3', keep_aspect_ratio: 'False' }).transform?.fit).toBe('fill');
    expect(parseGetImageRequest({ url, resize_width: '2', resize_height: '3', force_to_size: '1' }).transform?.fit).toBe('pad');
    expect(parseGetImageRequest({ url, resize_width: '2', resize_height: '3', force_to_size: 'true', keep_aspect_ratio: 'false' }).transform?.fit).toBe('pad');
  });

  it('accepts booleans as true/false/1/0 in any case, empty as the default', () => {
    expect(parseGetImageRequest({ url, no_image: 'TRUE' }).noImage).toBe(true);
    expect(parseGetImageRequest({ url, no_image: '0' }).noImage).toBe(false);
    expect(parseGetImageRequest({ url, only_send_if_local: '' }).onlySendIfLocal).toBe(false);
    expect(() => parseGetImageRequest({ url, no_image: 'yes' })).toThrow('Parameter "no_image" must be true, false, 1 or 0, but received "yes".');
  });

  it('accepts format aliases, any case', () => {
    expect(parseGetImageRequest({ url, resize_width: '9', format_when_resize: 'JPG' }).transform?.format).toBe('jpeg');
    expect(parseGetImageRequest({ url, resize_width: '9', format_when_resize: 'WebP' }).transform?.format).toBe('webp');
    expect(parseGetImageRequest({ url, resize_width: '9', format_when_resize: 'TIF' }).transform?.format).toBe('tiff');
    expect(parseGetImageRequest({ url, resize_width: '9', format_when_resize: 'BMP' }).transform?.format).toBe('bmp');
    expect(parseGetImageRequest({ url, resize_width: '9', format_when_resize: 'Avif' }).transform?.format).toBe('avif');
  });

  it('reads the Python spellings True/False and 1/0 through one preprocess for every boolean', () => {
    for (const name of ['keep_aspect_ratio', 'force_to_size', 'no_image', 'only_send_if_local', 'use_alternative_clouds']) {
      for (const [text, value] of [['True', true], ['False', false], ['1', true], ['0', false], ['tRuE', true], [' false ', false]] as const) {
        const params = parseGetImageRequest({ url, resize_width: '2', resize_height: '3', [name]: text });
        const read = { keep_aspect_ratio: params.transform?.fit !== 'fill', force_to_size: params.transform?.fit === 'pad', no_image: params.noImage, only_send_if_local: params.onlySendIfLocal, use_alternative_clouds: params.useAlternativeClouds }[name];
        expect([name, text, read]).toEqual([name, text, value]);
      }
      expect(() => parseGetImageRequest({ url, [name]: 'yes' })).toThrow(`Parameter "${name}" must be true, false, 1 or 0, but received "yes".`);
    }
  });

  it('marks format_when_resize=auto, and a request without a format when the defaults say auto, for negotiation', () => {
    expect(parseGetImageRequest({ url, resize_width: '9', format_when_resize: 'AUTO' })).toMatchObject({ negotiateFormat: true, transform: { format: 'jpeg' } });
    expect(parseGetImageRequest({ url, resize_width: '9' }, { format: 'auto' }).negotiateFormat).toBe(true);
    expect(parseGetImageRequest({ url, resize_width: '9', format_when_resize: 'png' }, { format: 'auto' })).toMatchObject({ negotiateFormat: false, transform: { format: 'png' } });
    expect(parseGetImageRequest({ url }, { format: 'auto' }).negotiateFormat).toBe(false);
    expect(parseGetThumbnailRequest({ url, size: '200' }, [200], { format: 'auto' }).negotiateFormat).toBe(true);
    expect(parseGetThumbnailRequest({ url, size: '200' }, [200]).negotiateFormat).toBe(false);
  });

  it('multiplies the box by dpr (decimals allowed), dpr=1 changing nothing', () => {
    expect(parseGetImageRequest({ url, resize_width: '100', resize_height: '50', dpr: '2' }).transform).toEqual({ width: 200, height: 100, fit: 'inside', format: 'jpeg' });
    expect(parseGetImageRequest({ url, resize_width: '101', dpr: '1.5' }).transform).toEqual({ width: 152, fit: 'inside', format: 'jpeg' });
    expect(parseGetImageRequest({ url, resize_width: '100', dpr: '1' }).transform).toEqual(parseGetImageRequest({ url, resize_width: '100' }).transform);
    expect(() => parseGetImageRequest({ url, resize_width: '100', dpr: '5' })).toThrow('Parameter "dpr" must be a number from 1 to 4, but received "5".');
    expect(() => parseGetImageRequest({ url, resize_width: '100', dpr: '0.5' })).toThrow(/Parameter "dpr" must be a number from 1 to 4/);
    expect(() => parseGetImageRequest({ url, resize_width: '100', dpr: 'retina' })).toThrow(/Parameter "dpr" must be a number from 1 to 4, but received "retina"/);
    expect(() => parseGetImageRequest({ url, resize_width: '4000', dpr: '3' })).toThrow(/Parameter "dpr" makes a side of 4000 × 3 = 12000 pixels, over the largest side of 10000/);
  });

  it('carries quality 1-100 as asked, refusing others naming the parameter', () => {
    expect(parseGetImageRequest({ url, resize_width: '9', quality: '55' }).transform).toEqual({ width: 9, fit: 'inside', format: 'jpeg', quality: 55 });
    expect(() => parseGetImageRequest({ url, resize_width: '9', quality: '0' })).toThrow('Parameter "quality" must be a whole number from 1 to 100, but received "0".');
    expect(() => parseGetImageRequest({ url, resize_width: '9', quality: '101' })).toThrow(/Parameter "quality" must be a whole number from 1 to 100/);
    expect(() => parseGetImageRequest({ url, resize_width: '9', quality: '7.5' })).toThrow(/Parameter "quality" must be a whole number from 1 to 100, but received "7.5"/);
  });

  it('ignores format_when_resize without a resize (the original is returned untouched)', () => {
    expect(parseGetImageRequest({ url, format_when_resize: 'png' }).transform).toBeNull();
  });

  it('names the parameter and the problem', () => {
    expect(() => parseGetImageRequest({})).toThrow('Parameter "url" is required: the http(s) URL of the image.');
    expect(() => parseGetImageRequest({ url: 'javascript:alert(1)' })).toThrow('Parameter "url" must use http or https, but uses "javascript".');
    expect(() => parseGetImageRequest({ url, resize_width: '1.5' })).toThrow('Parameter "resize_width" must be a whole number from 1 to 10000, but received "1.5".');
    expect(() => parseGetImageRequest({ url, resize_width: ['1', '2'] })).toThrow('Parameter "resize_width" was given more than once; give it once.');
    expect(() => parseGetImageRequest({ url: { a: 'b' } })).toThrow('Parameter "url" must be a plain value.');
  });

  it('shortens long values quoted back in messages', () => {
    expect(() => parseGetImageRequest({ url, resize_width: 'x'.repeat(500) })).toThrow(/"x{80}…"/);
  });
});

describe('parseGetThumbnailRequest', () => {
  it('makes a square JPEG box of a configured size', () => {
    expect(parseGetThumbnailRequest({ url, size: '250' }, [200, 250]).transform).toEqual({ width: 250, height: 250, fit: 'inside', format: 'jpeg' });
  });

  it('refuses other sizes, naming the configured ones', () => {
    expect(() => parseGetThumbnailRequest({ url, size: '300' }, [200, 250])).toThrow('Parameter "size" must be one of 200, 250, but received 300.');
    expect(() => parseGetThumbnailRequest({ url }, [200, 250])).toThrow('Parameter "size" is required: one of 200, 250.');
  });
});

describe('parameter names', () => {
  it('names the right parameter for one two edits away, reads the old spelling, and ignores other extras', () => {
    expect(() => parseGetImageRequest({ url, resize_widht: '100' })).toThrow('Unknown parameter "resize_widht"; did you mean "resize_width"?');
    expect(() => parseGetImageRequest({ url, resize_heigth: '100' })).toThrow(/did you mean "resize_height"/);
    expect(parseGetImageRequest({ url, use_alternativ_clouds: 'true' }).useAlternativeClouds).toBe(true);
    expect(() => parseGetImageRequest({ url, use_alternativ_clouds: 'true', use_alternative_clouds: 'true' })).toThrow(/more than once/);
    expect(parseGetImageRequest({ url, v: '2', cache_buster: '17', ur: 'x' }).transform).toBeNull();
    expect(parseGetThumbnailRequest({ url, size: '200', use_alternativ_clouds: '1' }, [200]).useAlternativeClouds).toBe(true);
  });
});

describe('the query schemas', () => {
  it('carry v, the version that makes an answer immutable, on get_image and get_thumbnail', () => {
    expect(parseGetImageRequest({ url, v: 'a1' }).version).toBe('a1');
    expect(parseGetThumbnailRequest({ url, size: '200', v: '7' }, [200]).version).toBe('7');
    expect(parseGetImageRequest({ url, v: '' })).not.toHaveProperty('version');
  });

  it('validate every parameter they describe, so a parameter added to a schema is checked and documented at once', () => {
    const names = Object.keys(getImageQuerySchema.shape);
    expect(names).toEqual(expect.arrayContaining(['url', 'resize_width', 'format_when_resize', 'v']));
    expect(() => parseGetImageRequest({ url, resize_width: '9', format_when_resize: 'jp2' })).toThrow(
      `Parameter "format_when_resize" must be one of ${[...OUTPUT_FORMATS, 'auto'].join(', ')}, but received "jp2".`,
    );
    expect(() => parseGetThumbnailRequest({ url, size: 'big' }, [200, 250])).toThrow('Parameter "size" must be one of 200, 250, but received "big".');
  });
});
