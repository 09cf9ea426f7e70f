import { z } from 'zod';
import { validateOriginUrl } from '@image-cloud/contracts';

/**
 * Zod schemas of query parameter values, each with the message a refusal says (completing
 * `Parameter "<name>" …`). The query schemas are built from them; they validate every request
 * and are what the OpenAPI document describes, so a parameter added here is checked and
 * documented at once.
 */

/** Shows a client-supplied value in an error message, shortened so messages stay readable. */
export function quote(value: unknown): string {
  const text = String(value);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

export function wholeNumber(min: number, max: number) {
  const error = (issue: { input?: unknown }) => `must be a whole number from ${min} to ${max}, but received ${quote(issue.input)}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A number from `min` to `max`, decimals allowed (`dpr=1.5`). */
export function decimalNumber(min: number, max: number) {
  const error = (issue: { input?: unknown }) => `must be a number from ${min} to ${max}, but received ${quote(issue.input)}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
}

/** The spellings of a boolean the old Python service read (compared in lower case), and their value. */
export const BOOLEAN_SPELLINGS: Readonly<Record<string, boolean>> = { true: true, false: false, '1': true, '0': false };

/**
 * Booleans as the existing clients send them: true/false, True/False, 1/0, any case; absent or
 * empty is the default. One preprocess reads them for every boolean parameter; other text stays
 * as it is, so the refusal says what was received.
 */
export function flag(defaultValue: boolean) {
  return z
    .preprocess(
      (value) => (typeof value === 'string' ? (value.trim() === '' ? undefined : (BOOLEAN_SPELLINGS[value.trim().toLowerCase()] ?? value)) : value),
      z.boolean({ error: (issue) => `must be true, false, 1 or 0, but received ${quote(issue.input)}` }).default(defaultValue),
    )
    .meta({ default: defaultValue });
}

/** One of `values`, named in the refusal; a value is read case-insensitively. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, named: readonly string[] = values) {
  return z.enum(values, { error: (issue) => `must be one of ${named.join(', ')}, but received ${JSON.stringify(String(issue.input).slice(0, 40))}` });
}

/** One of a few whole numbers (`size` of get_thumbnail: the configured thumbnail sizes). */
export function oneOfNumbers(values: readonly [number, ...number[]]) {
  const list = values.join(', ');
  return z.literal(values, {
    error: (issue) =>
      issue.input === undefined ? `is required: one of ${list}` : `must be one of ${list}, but received ${typeof issue.input === 'number' ? issue.input : quote(issue.input)}`,
  });
}

/** The origin URL: required, absolute, http or https. */
export const originUrlField = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required: the http(s) URL of the image' : undefined) })
  .superRefine((value, context) => {
    const checked = validateOriginUrl(value);
    if (!checked.ok) context.addIssue({ code: 'custom', message: checked.reason });
  })
  .meta({ format: 'uri', description: 'The http(s) URL of the image at its origin.' });
