import { z } from 'zod';

/** A JSON Schema (2020-12, which OpenAPI 3.1 uses as is) or any other part of the document. */
export type JsonObject = Record<string, unknown>;

export type HttpMethod = 'get' | 'post' | 'delete';

export interface HeaderSpec {
  description: string;
  schema: JsonObject;
}

export interface ResponseSpec {
  description: string;
  /** Media type → schema of the body. */
  content?: Record<string, z.ZodType | JsonObject>;
  headers?: Record<string, HeaderSpec>;
}

/** An operation as the app serves it; `errors` are registry codes, answered as `{error, message}`. */
export interface OperationSpec {
  method: HttpMethod;
  /** In express's form: `/fire_and_forget/:batch`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  query?: z.ZodObject;
  pathParams?: z.ZodObject;
  /** Request headers the operation reads (conditional and range requests). */
  headers?: z.ZodObject;
  requestBody?: { description: string; contentType: string; schema: z.ZodType };
  /** The answers that are not errors, by status. */
  responses: Record<string, ResponseSpec>;
  errors: readonly string[];
  /** Alternatives, any one of which suffices; empty: no credentials needed. */
  security: Array<Record<string, string[]>>;
  /** Headers every error answer of this operation carries besides the registry's. */
  errorHeaders?: Record<string, HeaderSpec>;
}

export interface ErrorEntry {
  status: number;
  retryable: boolean;
  negativeCache?: boolean;
}

export interface DocumentSpec {
  info: { title: string; version: string; description: string };
  securitySchemes: Record<string, JsonObject>;
  operations: readonly OperationSpec[];
  /** The error registry: every code, its status. */
  errors: Readonly<Record<string, ErrorEntry>>;
  /** Statuses every operation may answer whatever it is (`internal_error`). */
  alwaysPossibleErrors: readonly string[];
}

const ERROR_SCHEMA_REF = '#/components/schemas/Error';

/** A zod schema as JSON Schema; `io` picks what is accepted (requests) or what is produced (answers). */
function jsonSchemaOf(schema: z.ZodType | JsonObject, io: 'input' | 'output'): JsonObject {
  if (!(schema instanceof z.ZodType)) return schema;
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  return rest;
}

/** Each key of an object schema as an OpenAPI parameter, its description lifted to the parameter. */
function parametersOf(schema: z.ZodObject | undefined, location: 'query' | 'path' | 'header'): JsonObject[] {
  if (!schema) return [];
  const json = jsonSchemaOf(schema, 'input') as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...valueSchema } = property;
    return {
      name,
      in: location,
      required: location === 'path' || (json.required ?? []).includes(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: valueSchema,
    };
  });
}

/** `/fire_and_forget/:batch` → `/fire_and_forget/{batch}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function responseOf(spec: ResponseSpec, withBody: boolean): JsonObject {
  return {
    description: spec.description,
    ...(spec.headers ? { headers: spec.headers } : {}),
    ...(spec.content && withBody
      ? { content: Object.fromEntries(Object.entries(spec.content).map(([type, schema]) => [type, { schema: jsonSchemaOf(schema, 'output') }])) }
      : {}),
  };
}

/** The operation's error codes grouped by status: one response per status, its `error` limited to those codes. */
function errorResponses(operation: OperationSpec, spec: DocumentSpec, withBody: boolean): Record<string, JsonObject> {
  const byStatus = new Map<number, string[]>();
  for (const code of new Set([...operation.errors, ...spec.alwaysPossibleErrors])) {
    const entry = spec.errors[code];
    if (!entry) throw new Error(`${operation.operationId} names the error code "${code}", which is not in the registry.`);
    byStatus.set(entry.status, [...(byStatus.get(entry.status) ?? []), code]);
  }
  const responses: Record<string, JsonObject> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const schema = { $ref: ERROR_SCHEMA_REF, properties: { error: { enum: codes } } };
    responses[String(status)] = {
      description: codes.map((code) => `\`${code}\``).join(', '),
      headers: { 'Cache-Control': { description: 'How long this error may be cached.', schema: { type: 'string' } }, ...operation.errorHeaders },
      ...(withBody ? { content: { 'application/json': { schema } } } : {}),
    };
  }
  return responses;
}

function operationObject(operation: OperationSpec, spec: DocumentSpec, head: boolean): JsonObject {
  const successes = Object.fromEntries(Object.entries(operation.responses).map(([status, response]) => [status, responseOf(response, !head)]));
  return {
    operationId: head ? `${operation.operationId}Head` : operation.operationId,
    summary: head ? `${operation.summary} (headers only)` : operation.summary,
    ...(operation.description ? { description: head ? `The same answer as GET without its body.` : operation.description } : {}),
    tags: operation.tags,
    parameters: [...parametersOf(operation.pathParams, 'path'), ...parametersOf(operation.query, 'query'), ...parametersOf(operation.headers, 'header')],
    ...(operation.requestBody
      ? {
          requestBody: {
            required: true,
            description: operation.requestBody.description,
            content: { [operation.requestBody.contentType]: { schema: jsonSchemaOf(operation.requestBody.schema, 'input') } },
          },
        }
      : {}),
    responses: { ...successes, ...errorResponses(operation, spec, !head) },
    security: operation.security,
  };
}

/**
 * The OpenAPI 3.1 document of an HTTP API from its operations: parameters and bodies from the
 * zod schemas that validate them, answers from the schemas they are built to, errors from the
 * registry. Every GET is also a HEAD (express answers HEAD with the GET route, without the body).
 */
export function buildOpenApiDocument(spec: DocumentSpec): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const operation of spec.operations) {
    const path = (paths[openApiPath(operation.path)] ??= {});
    if (path[operation.method]) throw new Error(`${operation.method.toUpperCase()} ${operation.path} is described twice.`);
    path[operation.method] = operationObject(operation, spec, false);
    if (operation.method === 'get') path['head'] = operationObject(operation, spec, true);
  }
  const codes = Object.keys(spec.errors);
  return {
    openapi: '3.1.0',
    info: spec.info,
    paths,
    components: {
      securitySchemes: spec.securitySchemes,
      schemas: {
        ErrorCode: {
          type: 'string',
          enum: codes,
          description: codes.map((code) => `${spec.errors[code].status} \`${code}\`${spec.errors[code].retryable ? ' (retryable)' : ''}`).join('; '),
        },
        Error: {
          type: 'object',
          required: ['error', 'message'],
          properties: { error: { $ref: '#/components/schemas/ErrorCode' }, message: { type: 'string', description: 'A sentence for people; never a token or a stack.' } },
          additionalProperties: false,
        },
      },
    },
  };
}
