import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_CODES } from './error-codes';
import { ImageCloudError, toImageCloudError } from './image-cloud-error';

const README = resolve(__dirname, '../../../README.md');

/** `| 404 | `origin_not_found`, `not_cached` | …` rows → [status, code] pairs. */
function documentedCodes(markdown: string): Array<[number, string]> {
  const pairs: Array<[number, string]> = [];
  for (const line of markdown.split('\n')) {
    const match = /^\|\s*([\d /]+?)\s*\|([^|]+)\|/.exec(line);
    if (!match || !match[2].includes('`')) continue;
    const statuses = match[1].split('/').map((s) => Number(s.trim()));
    const codes = [...match[2].matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    for (const code of codes) {
      const status = statuses.length === 1 ? statuses[0] : ERROR_CODES[code as keyof typeof ERROR_CODES]?.status;
      if (status && statuses.includes(status)) pairs.push([status, code]);
      else pairs.push([statuses[0], code]);
    }
  }
  return pairs;
}

describe('error registry', () => {
  it('matches the README error table, both ways', () => {
    const documented = documentedCodes(readFileSync(README, 'utf8').split('### Errors')[1]);
    expect(Object.fromEntries(documented.map(([status, code]) => [code, status]))).toEqual(
      Object.fromEntries(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status])),
    );
  });

  it('marks exactly the transient failures retryable', () => {
    const retryable = Object.entries(ERROR_CODES).filter(([, entry]) => entry.retryable).map(([code]) => code);
    expect(retryable.sort()).toEqual([
      'insufficient_storage',
      'internal_error',
      'origin_error',
      'origin_timeout',
      'overloaded',
      'processing_timeout',
      'rate_limited',
      'unavailable',
    ]);
  });

  it('names a full or read-only store insufficient_storage, anything else unknown an internal error', () => {
    for (const code of ['ENOSPC', 'EROFS', 'EDQUOT']) {
      const error = toImageCloudError(Object.assign(new Error(`${code}: no space left`), { code }));
      expect({ code: error.code, status: error.status, retryable: error.retryable }).toEqual({ code: 'insufficient_storage', status: 507, retryable: true });
      expect(error.message).toContain(code);
    }
    expect(toImageCloudError(new TypeError('x is not a function')).code).toBe('internal_error');
  });

  it('keeps a final processing_timeout final across Redis: not retryable, negatively cacheable', () => {
    const final = ImageCloudError.fromJSON(JSON.parse(JSON.stringify(new ImageCloudError('processing_timeout', 'over', { final: true }))));
    expect({ retryable: final.retryable, negativelyCacheable: final.negativelyCacheable }).toEqual({ retryable: false, negativelyCacheable: true });
    const ordinary = ImageCloudError.fromJSON(JSON.parse(JSON.stringify(new ImageCloudError('processing_timeout', 'over'))));
    expect({ retryable: ordinary.retryable, negativelyCacheable: ordinary.negativelyCacheable }).toEqual({ retryable: true, negativelyCacheable: false });
  });
});
