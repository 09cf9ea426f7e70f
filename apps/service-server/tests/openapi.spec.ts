import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { makeImage } from '@image-cloud/imaging/testing';
import { ERROR_CODES } from '@image-cloud/errors';
import {
  alternativeCloudsSchema,
  deleteResultSchema,
  healthSchema,
  imageInfoSchema,
  openApiPath,
  originalInfoSchema,
  readinessSchema,
} from '@image-cloud/openapi';
import { batchProgressSchema, batchReceiptSchema } from '@image-cloud/contracts';
import { DIST_DIR } from '@image-cloud/testing';
import type { z } from 'zod';
import { servedRoutes } from '../src/http/app-routes';
import { type SystemUnderTest, startSystem } from './system-under-test';

/** GET /openapi.json: valid OpenAPI 3.1, exactly the app's routes, and the answers it describes are the real ones. */

interface Operation {
  parameters: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
  responses: Record<string, { content?: Record<string, { schema: { properties?: { error?: { enum?: string[] } } } }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: { ErrorCode: { enum: string[] } } };
}

const THUMBNAIL_SIZES = [120, 240];

/** The validator is an ES module; it runs in a child process of its own, as its CLI does. */
function validateOpenApi(document: unknown): { valid: boolean; version: string; errors?: unknown } {
  const script = `
    import { Validator } from '@seriousme/openapi-schema-validator';
    let input = '';
    for await (const chunk of process.stdin) input += chunk;
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(input));
    process.stdout.write(JSON.stringify({ ...result, version: validator.version }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dirname(DIST_DIR), input: JSON.stringify(document), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the validator failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

let system: SystemUnderTest;
let document: Document;

beforeAll(async () => {
  system = await startSystem({ name: 'openapi', config: { thumbnailSizes: THUMBNAIL_SIZES } });
  system.origin.serveBytes('photo.jpg', await makeImage({ width: 300, height: 200 }), 'image/jpeg');
  const response = await system.request('/openapi.json');
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  document = (await response.json()) as Document;
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

function operation(method: string, path: string): Operation {
  const found = document.paths[path]?.[method];
  if (!found) throw new Error(`${method} ${path} is not in the document`);
  return found;
}

/** The `error` codes the document allows for this operation and status. */
function documentedCodes(method: string, path: string, status: number): string[] {
  return operation(method, path).responses[String(status)]?.content?.['application/json']?.schema.properties?.error?.enum ?? [];
}

async function answer<T>(schema: z.ZodType<T>, response: Response, status = 200): Promise<T> {
  expect(response.status).toBe(status);
  const parsed = schema.safeParse(await response.json());
  if (!parsed.success) throw new Error(`the answer is not what the document says: ${parsed.error.message}`);
  return parsed.data;
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    expect(document.openapi).toBe('3.1.0');
    const result = validateOpenApi(document);
    expect(result).toEqual({ valid: true, version: '3.1' });
  });

  it('describes exactly the routes the express app serves, every method of each (HEAD with every GET)', () => {
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const served = servedRoutes(system.server.app).map((route) => {
      const [method, path] = route.split(' ');
      return `${method} ${openApiPath(path)}`;
    });
    expect(documented).toEqual([...served].sort());
    expect(served).toContain('HEAD /get_image');
    expect(served).toContain('GET /fire_and_forget/{batch}');
  });

  it("has every parameter the server validates, the configured thumbnail sizes among them", () => {
    const names = (method: string, path: string, where = ['query', 'path']) =>
      operation(method, path)
        .parameters.filter((p) => where.includes(p.in))
        .map((p) => p.name)
        .sort();
    expect(names('get', '/get_image')).toEqual(
      ['url', 'resize_width', 'resize_height', 'keep_aspect_ratio', 'force_to_size', 'format_when_resize', 'dpr', 'quality', 'no_image', 'use_alternative_clouds', 'only_send_if_local', 'v', 'tenant', 'expires'].sort(),
    );
    const size = operation('get', '/get_thumbnail').parameters.find((p) => p.name === 'size')!;
    expect({ required: size.required, values: size.schema['enum'] }).toEqual({ required: true, values: THUMBNAIL_SIZES });
    expect(operation('get', '/get_image').parameters.find((p) => p.name === 'resize_width')!.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 10_000 });
    expect(names('get', '/fire_and_forget/{batch}')).toEqual(['batch']);
    expect(names('get', '/get_thumbnail', ['header'])).toEqual(['Accept', 'If-Modified-Since', 'If-None-Match', 'If-Range', 'Range']);
  });

  it('documents the accepted spellings of the browser-facing parameters (issue 9)', () => {
    const param = (name: string) => operation('get', '/get_image').parameters.find((p) => p.name === name)!.schema;
    expect(param('format_when_resize')).toMatchObject({ default: 'jpeg' });
    expect([...(param('format_when_resize')['enum'] as string[])].sort()).toEqual(['auto', 'avif', 'bmp', 'gif', 'jpeg', 'jpg', 'png', 'tif', 'tiff', 'webp']);
    expect(param('dpr')).toMatchObject({ type: 'number', minimum: 1, maximum: 4, default: 1 });
    expect(param('quality')).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
    expect(param('keep_aspect_ratio')).toMatchObject({ type: 'boolean', default: true });
    expect(JSON.stringify(document.paths['/fire_and_forget']!)).toContain('placeholders');
    expect(JSON.stringify(document.paths['/image_info']!)).toEqual(expect.stringContaining('thumbHash'));
    expect(JSON.stringify(document.paths['/image_info']!)).toEqual(expect.stringContaining('displayWidth'));
  });

  it('names every code of the error registry, each under its status in the operations that answer it', () => {
    expect([...document.components.schemas.ErrorCode.enum].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    const answered = new Map<string, Set<number>>();
    for (const operations of Object.values(document.paths)) {
      for (const op of Object.values(operations)) {
        for (const [status, response] of Object.entries(op.responses)) {
          for (const code of response.content?.['application/json']?.schema.properties?.error?.enum ?? []) {
            answered.set(code, new Set([...(answered.get(code) ?? []), Number(status)]));
          }
        }
      }
    }
    // 405 belongs to no operation: it is the answer of the methods a path does not serve (the document's description says so).
    const expected = Object.entries(ERROR_CODES).filter(([code]) => code !== 'method_not_allowed');
    expect(Object.fromEntries([...answered].map(([code, statuses]) => [code, [...statuses]]))).toEqual(
      Object.fromEntries(expected.map(([code, { status }]) => [code, [status]])),
    );
  });
});

describe('the answers are the documented ones', () => {
  const imageUrl = () => system.origin.url('/bytes/photo.jpg');

  it('image_info, no_image and delete_image', async () => {
    await answer(imageInfoSchema, await system.request(`/image_info?url=${encodeURIComponent(imageUrl())}`));
    await answer(originalInfoSchema, await system.getImage('/bytes/photo.jpg', { no_image: 'true' }));
    await answer(deleteResultSchema, await system.request(`/delete_image?url=${encodeURIComponent(imageUrl())}`, { method: 'DELETE' }));
  });

  it('alternative_clouds, healthz, readyz', async () => {
    await answer(alternativeCloudsSchema, await system.request('/alternative_clouds'));
    await answer(healthSchema, await system.request('/healthz'));
    await answer(readinessSchema, await system.request('/readyz'));
  });

  it('fire_and_forget and its progress', async () => {
    const submitted = await system.request('/fire_and_forget', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ urls: [imageUrl(), 'not a url'] }),
    });
    const receipt = await answer(batchReceiptSchema, submitted, 202);
    await answer(batchProgressSchema, await system.request(`/fire_and_forget/${receipt.batchId}`));
  });

  it('errors carry codes the document lists for their operation and status', async () => {
    const cases: Array<[string, string, Response]> = [
      ['get', '/get_image', await system.getImage('/bytes/photo.jpg', { resize_width: 'wide' })],
      ['get', '/get_image', await system.getImage('/status/404')],
      ['get', '/get_thumbnail', await system.request(`/get_thumbnail?url=${encodeURIComponent(imageUrl())}&size=100`)],
      ['get', '/fire_and_forget/{batch}', await system.request('/fire_and_forget/no-such-batch')],
      ['post', '/fire_and_forget', await system.request('/fire_and_forget', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"urls": 5}' })],
    ];
    for (const [method, path, response] of cases) {
      const body = (await response.json()) as { error: string };
      expect({ method, path, status: response.status, error: body.error, documented: documentedCodes(method, path, response.status).includes(body.error) }).toEqual({
        method,
        path,
        status: response.status,
        error: body.error,
        documented: true,
      });
    }
  });
});
