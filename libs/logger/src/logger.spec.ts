import { createLogger, redactSecrets } from './logger';

describe('logger', () => {
  it('redacts tokens in URLs and bearer headers', () => {
    expect(redactSecrets('/get_image?url=x&token=s3cr3t-value&size=2')).toBe('/get_image?url=x&token=[redacted]&size=2');
    expect(redactSecrets('Authorization: Bearer abc.def-123')).toBe('Authorization: Bearer [redacted]');
    expect(redactSecrets('no Redis at rediss://:p4ss@redis.internal:6380/0')).toBe('no Redis at rediss://:[redacted]@redis.internal:6380/0');
    expect(redactSecrets('REDIS_URL=redis://app:p4ss@10.0.0.5:6379')).toBe('REDIS_URL=redis://app:[redacted]@10.0.0.5:6379');
    expect(redactSecrets('REDIS_URL=redis-sentinel://:p4ss@a:26379,b:26379/images?sentinelPassword=s3nt')).toBe(
      'REDIS_URL=redis-sentinel://:[redacted]@a:26379,b:26379/images?sentinelPassword=[redacted]',
    );
    expect(redactSecrets('http://127.0.0.1:5000/get_image')).toBe('http://127.0.0.1:5000/get_image');
  });

  it('redacts tokens and signatures inside a percent-encoded url parameter too', () => {
    const path = '/get_image?url=https%3A%2F%2Fshop.de%2Fa.jpg%3Ftoken%3Ds3cr3t%26w%3D2%26Signature%3Dabc%2Bdef&resize_width=100';
    expect(redactSecrets(path)).toBe('/get_image?url=https%3A%2F%2Fshop.de%2Fa.jpg%3Ftoken%3D[redacted]%26w%3D2%26Signature%3D[redacted]&resize_width=100');
    expect(redactSecrets('/get_image?url=https%3a%2f%2fshop.de%2fa.jpg%3fsig%3dxyz')).toBe('/get_image?url=https%3a%2f%2fshop.de%2fa.jpg%3fsig%3d[redacted]');
  });

  it('writes one JSON line per entry, above the level only, with secrets redacted', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', name: 'spec', write: (line) => lines.push(line) });
    logger.debug('hidden');
    logger.child({ route: '/get_image' }).info('request', { path: '/get_image?token=abcdef', status: 200 });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({ level: 'info', name: 'spec', route: '/get_image', msg: 'request', status: 200 });
    expect(lines[0]).not.toContain('abcdef');
  });
});
