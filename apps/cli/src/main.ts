#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { ZodType } from 'zod';
import { type BatchProgress, batchProgressSchema, batchReceiptSchema, cloudBaseUrl, validateOriginUrl } from '@image-cloud/contracts';
import { signRequest } from '@image-cloud/tenant-auth';

const SIGN_HELP = `usage: image-cloud sign --base <cloud URL> --tenant <name> [--path /get_image] [--expires-in <seconds>] [name=value …]

Prints a signed, expiring URL for browsers (HMAC-SHA256, no token in it). The signing key comes
from the environment variable IMAGE_CLOUD_SIGNING_KEY (one of CONFIG's signingKeys), so it stays
out of shell history and process lists.

options:
  --base <URL>            the cloud's base URL (required)
  --tenant <name>         the tenant the URL is signed for (required)
  --path <path>           the endpoint: /get_image (default), /get_thumbnail or /image_info
  --expires-in <seconds>  how long the URL stays valid (default 3600; the cloud refuses more than
                          its signedUrlMaxLifetimeSeconds)
  name=value …            the request's parameters; url=… is required. For browsers:
                          format_when_resize=auto (AVIF/WebP/JPEG by the browser's Accept),
                          dpr=1..4 (decimals allowed), quality=1..100; the rest as in the README
                          (booleans true/false/1/0, format names in any case, jpg/tif aliases)
  -h, --help              this text

example:
  IMAGE_CLOUD_SIGNING_KEY=… image-cloud sign --base https://img.example.com --tenant shop-search \\
    url=https://shop.example/p/1.jpg resize_width=200 resize_height=200`;

const PREFETCH_HELP = `usage: image-cloud prefetch --base <cloud URL> [--interval <ms>] [--placeholders] <file of URLs, one per line>

Submits the URLs (one per line, # comments) as one fire_and_forget batch and shows its progress
until it is complete. The tenant token comes from IMAGE_CLOUD_TOKEN (none needed when the cloud
runs open).

options:
  --base <URL>            the cloud's base URL (required)
  --interval <ms>         how often to ask for the batch's progress (default 1000, at least 100)
  --placeholders          also compute each image's layout placeholders (dominantColor, thumbHash
                          of image_info) ahead
  -h, --help              this text`;

const USAGE = `usage: image-cloud sign --base <cloud URL> --tenant <name> [--expires-in <seconds>] [name=value …]
       image-cloud prefetch --base <cloud URL> <file of URLs>
       image-cloud [<command>] --help

commands:
  sign       print a signed, expiring URL for browsers
  prefetch   submit a file of URLs as one prefetch batch and follow its progress

options:
  -h, --help  this text; image-cloud <command> --help describes a command and its options

Exits 0 when done, 2 on wrong usage or when the cloud refuses.`;

const COMMAND_HELP: Record<string, string> = { sign: SIGN_HELP, prefetch: PREFETCH_HELP };

const HELP_FLAGS = ['--help', '-h'];

function fail(message: string): never {
  process.stderr.write(`image-cloud: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

/** The cloud's base URL (`--base`): an absolute http(s) URL, without a trailing slash. */
function baseOption(value: string | undefined): string {
  if (!value) fail('--base is required.');
  const checked = validateOriginUrl(value);
  if (!checked.ok) fail(`--base ${checked.reason}.`);
  return cloudBaseUrl(checked.url);
}

/** A JSON answer of the cloud, checked against its wire contract. */
function parseAnswer<T>(schema: ZodType<T>, answer: unknown, what: string): T {
  const parsed = schema.safeParse(answer);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return fail(`the cloud's ${what} is not what this CLI understands (${issue?.path.join('.') || 'answer'}: ${issue?.message}).`);
}

/** The `message` of an error answer (`{error, message}`). */
function messageOf(answer: unknown): string {
  const message = (answer as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : 'no message';
}

function sign(args: string[]): void {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      base: { type: 'string' },
      tenant: { type: 'string' },
      path: { type: 'string', default: '/get_image' },
      'expires-in': { type: 'string', default: '3600' },
    },
  });
  const key = process.env['IMAGE_CLOUD_SIGNING_KEY'];
  if (!key) fail('IMAGE_CLOUD_SIGNING_KEY is not set.');
  const base = baseOption(values.base);
  if (!values.tenant) fail('--tenant is required.');
  const expiresIn = Number(values['expires-in']);
  if (!Number.isInteger(expiresIn) || expiresIn <= 0) fail('--expires-in must be a whole number of seconds.');
  const params: Record<string, string> = {};
  for (const pair of positionals) {
    const at = pair.indexOf('=');
    if (at <= 0) fail(`"${pair}" is not name=value.`);
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  if (!params['url']) fail('the url=… parameter is required.');
  const signed = signRequest({ path: values.path!, params, tenant: values.tenant, expiresAt: Math.floor(Date.now() / 1000) + expiresIn, key });
  process.stdout.write(`${base}${signed}\n`);
}

function progressLine(p: BatchProgress): string {
  const finished = p.accepted - p.pending;
  const share = p.accepted === 0 ? 1 : finished / p.accepted;
  const width = 30;
  const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '.');
  const failed = Object.entries(p.failed).map(([code, n]) => `${code} ${n}`).join(', ');
  return `[${bar}] ${(share * 100).toFixed(0).padStart(3)}%  done ${p.done}/${p.accepted}${failed ? `, failed: ${failed}` : ''}`;
}

async function prefetch(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { base: { type: 'string' }, interval: { type: 'string', default: '1000' }, placeholders: { type: 'boolean', default: false } },
  });
  const base = baseOption(values.base);
  if (positionals.length !== 1) fail('give exactly one file of URLs.');
  const intervalMs = Number(values.interval);
  if (!Number.isInteger(intervalMs) || intervalMs < 100) fail('--interval must be a whole number of milliseconds, at least 100.');
  const urls = readFileSync(positionals[0], 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const token = process.env['IMAGE_CLOUD_TOKEN'];
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };

  const submitted = await fetch(`${base}/fire_and_forget`, { method: 'POST', headers, body: JSON.stringify({ urls, ...(values.placeholders ? { placeholders: true } : {}) }) });
  // A proxy in front may answer an HTML error page: keep the status, not a JSON parse error.
  const answer: unknown = await submitted.json().catch(() => ({}));
  if (submitted.status !== 202) fail(`the cloud answered ${submitted.status}: ${messageOf(answer)}`);
  const receipt = parseAnswer(batchReceiptSchema, answer, 'batch receipt');
  process.stdout.write(`batch ${receipt.batchId}: ${receipt.accepted} accepted, ${receipt.duplicate} duplicate, ${receipt.rejected} rejected\n`);
  for (const rejection of receipt.rejections.slice(0, 10)) process.stdout.write(`  url ${rejection.index + 1}: ${rejection.reason}\n`);

  const interactive = process.stdout.isTTY;
  for (;;) {
    const response = await fetch(`${base}/fire_and_forget/${receipt.batchId}`, { headers });
    if (response.status === 429 || response.status === 503) {
      // Rate limited, or Redis briefly away: the batch goes on; ask again when told to.
      await response.body?.cancel();
      await sleep(Math.max(intervalMs, Number(response.headers.get('retry-after') ?? 5) * 1000));
      continue;
    }
    if (!response.ok) fail(`the cloud answered ${response.status} for the batch's progress.`);
    const progress = parseAnswer(batchProgressSchema, await response.json(), 'batch progress');
    process.stdout.write(interactive ? `\r${progressLine(progress)}` : `${progressLine(progress)}\n`);
    if (progress.complete) break;
    await sleep(intervalMs);
  }
  process.stdout.write(interactive ? '\ncomplete\n' : 'complete\n');
}

/** `--help` anywhere before a lone `--` asks for help: it is answered on stdout, exit 0, and nothing runs. */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => HELP_FLAGS.includes(arg));
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === undefined) fail('no command given.');
  else if (HELP_FLAGS.includes(command) || command === 'help') process.stdout.write(`${rest[0] && COMMAND_HELP[rest[0]] ? COMMAND_HELP[rest[0]] : USAGE}\n`);
  else if (COMMAND_HELP[command] && asksForHelp(rest)) process.stdout.write(`${COMMAND_HELP[command]}\n`);
  else if (command === 'sign') sign(rest);
  else if (command === 'prefetch') prefetch(rest).catch((error: Error) => fail(error.message));
  else fail(`unknown command "${command}".`);
} catch (error) {
  fail((error as Error).message);
}
