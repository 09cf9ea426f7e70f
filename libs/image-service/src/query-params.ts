import { z } from 'zod';
import { ImageCloudError } from '@image-cloud/errors';
import { flag, originUrlField, wholeNumber } from './query-fields';

/** Query values as express hands them over: a string, a list when repeated, or nested objects. */
export type RawQuery = Record<string, unknown>;

function badParameter(message: string): ImageCloudError {
  return new ImageCloudError('bad_parameter', message);
}

/** The parameter's single string value, or undefined when absent. */
export function stringParam(query: RawQuery, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw badParameter(`Parameter "${name}" was given more than once; give it once.`);
  if (typeof value !== 'string') throw badParameter(`Parameter "${name}" must be a plain value.`);
  return value;
}

/** The schema a field's value is checked by, past `.optional()` and `.default()` (booleans read their text themselves, see flag). */
function valueSchema(field: z.ZodType): z.ZodType {
  const def = field.def as { type: string; innerType?: z.ZodType };
  return (def.type === 'optional' || def.type === 'default') && def.innerType ? valueSchema(def.innerType) : field;
}

/**
 * A query parameter's text as the value its schema checks: a number as a number, enum values in
 * any case. Text that is neither is left as it is, so the schema refuses it and says what it
 * received. Empty means absent (the default applies).
 */
function fromText(field: z.ZodType, text: string): unknown {
  if (text.trim() === '') return undefined;
  const schema = valueSchema(field);
  switch (schema.def.type) {
    case 'number':
    case 'literal':
      return /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : text;
    case 'enum':
      return text.toLowerCase();
    default:
      return text;
  }
}

/**
 * Validates a query against its zod schema (the one the OpenAPI document shows) and returns the
 * typed values. The first problem is a 400 `bad_parameter` naming the parameter and saying why.
 */
export function parseQuery<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>, query: RawQuery): z.output<z.ZodObject<Shape>> {
  const values: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    const text = stringParam(query, name);
    if (text !== undefined) values[name] = fromText(field as z.ZodType, text);
  }
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw badParameter(`Parameter "${issue.path.join('.')}" ${issue.message}.`);
}

/** Booleans as the existing clients send them: true/false/1/0, any case. */
export function booleanParam(query: RawQuery, name: string, defaultValue: boolean): boolean {
  return parseQuery(z.object({ [name]: flag(defaultValue) }), query)[name] as boolean;
}

export function integerParam(query: RawQuery, name: string, min: number, max: number): number | undefined {
  return parseQuery(z.object({ [name]: wholeNumber(min, max).optional() }), query)[name] as number | undefined;
}

/** The origin URL: required, absolute, http or https. */
export function urlParam(query: RawQuery, name = 'url'): string {
  return parseQuery(z.object({ [name]: originUrlField }), query)[name] as string;
}
