import { z } from 'zod';
import { type DocumentSpec, type OperationSpec, buildOpenApiDocument, openApiPath } from './openapi-document';

const errors = { bad_parameter: { status: 400, retryable: false }, not_found: { status: 404, retryable: false }, internal_error: { status: 500, retryable: true } };

function spec(operations: OperationSpec[]): DocumentSpec {
  return { info: { title: 't', version: '1', description: 'd' }, securitySchemes: {}, operations, errors, alwaysPossibleErrors: ['internal_error'] };
}

const thing: OperationSpec = {
  method: 'get',
  path: '/things/:id',
  operationId: 'getThing',
  summary: 'A thing',
  tags: ['things'],
  pathParams: z.object({ id: z.string() }),
  query: z.object({ size: z.number().int().min(1).max(9).optional().meta({ description: 'How big.' }), on: z.boolean().default(false) }),
  responses: { '200': { description: 'ok', content: { 'application/json': z.object({ id: z.string() }) } } },
  errors: ['bad_parameter', 'not_found'],
  security: [],
};

describe('buildOpenApiDocument', () => {
  it('turns zod queries into parameters, lifting descriptions and keeping constraints and defaults', () => {
    const doc = buildOpenApiDocument(spec([thing])) as { paths: Record<string, Record<string, { parameters: unknown[] }>> };
    expect(doc.paths['/things/{id}']['get'].parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'size', in: 'query', required: false, description: 'How big.', schema: { type: 'integer', minimum: 1, maximum: 9 } },
      { name: 'on', in: 'query', required: false, schema: { type: 'boolean', default: false } },
    ]);
  });

  it('answers each error status with the codes of that status only, and adds a bodiless HEAD to every GET', () => {
    const doc = buildOpenApiDocument(spec([thing])) as { paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>> };
    const { get, head } = doc.paths['/things/{id}'];
    expect(Object.keys(get.responses)).toEqual(['200', '400', '404', '500']);
    expect(get.responses['404'].content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/Error', properties: { error: { enum: ['not_found'] } } } } });
    expect(Object.keys(head.responses)).toEqual(Object.keys(get.responses));
    expect(Object.values(head.responses).every((response) => response.content === undefined)).toBe(true);
  });

  it('refuses a code outside the registry and an operation described twice', () => {
    expect(() => buildOpenApiDocument(spec([{ ...thing, errors: ['no_such_code'] }]))).toThrow(/no_such_code/);
    expect(() => buildOpenApiDocument(spec([thing, thing]))).toThrow(/described twice/);
  });

  it("writes express's path parameters the OpenAPI way", () => {
    expect(openApiPath('/fire_and_forget/:batch')).toBe('/fire_and_forget/{batch}');
  });
});
