import { validateOriginUrl } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';

/** Query values as express hands them over: a string, a list when repeated, or nested objects. */
export type RawQuery = Record<string, unknown>;

function badParameter(message: string): ImageCloudError {
  return new ImageCloudError('bad_parameter', message);
}

/** Shows a client-supplied value in an error message, shortened so messages stay readable. */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** The parameter's single string value, or undefined when absent. */
export function stringParam(query: RawQuery, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw badParameter(`Parameter "${name}" was given more than once; give it once.`);
  if (typeof value !== 'string') throw badParameter(`Parameter "${name}" must be a plain value.`);
  return value;
}

/** Booleans as the existing clients send them: true/false/1/0, any case. */
export function booleanParam(query: RawQuery, name: string, defaultValue: boolean): boolean {
  const value = stringParam(query, name);
  if (value === undefined || value === '') return defaultValue;
  switch (value.toLowerCase()) {
    case 'true':
    case '1':
      return true;
    case 'false':
    case '0':
      return false;
    default:
      throw badParameter(`Parameter "${name}" must be true, false, 1 or 0, but received ${quote(value)}.`);
  }
}

export function integerParam(query: RawQuery, name: string, min: number, max: number): number | undefined {
  const value = stringParam(query, name);
  if (value === undefined || value === '') return undefined;
  const number = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw badParameter(`Parameter "${name}" must be a whole number from ${min} to ${max}, but received ${quote(value)}.`);
  }
  return number;
}

/** The origin URL: required, absolute, http or https. */
export function urlParam(query: RawQuery, name = 'url'): string {
  const value = stringParam(query, name);
  if (value === undefined || value.trim() === '') throw badParameter(`Parameter "${name}" is required: the http(s) URL of the image.`);
  const checked = validateOriginUrl(value);
  if (!checked.ok) throw badParameter(`Parameter "${name}" ${checked.reason}.`);
  return checked.url;
}
