#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { signRequest } from '@image-cloud/tenant-auth';

const USAGE = `usage: image-cloud sign --base <cloud URL> --tenant <name> [--path /get_image] [--expires-in <seconds>] [name=value …]

Prints a signed, expiring URL for browsers (HMAC-SHA256, no token in it). The signing key comes
from the environment variable IMAGE_CLOUD_SIGNING_KEY (one of CONFIG's signingKeys), so it stays
out of shell history and process lists.

example:
  IMAGE_CLOUD_SIGNING_KEY=… image-cloud sign --base https://img.example.com --tenant shop-search \\
    url=https://shop.example/p/1.jpg resize_width=200 resize_height=200`;

function fail(message: string): never {
  process.stderr.write(`image-cloud: ${message}\n\n${USAGE}\n`);
  process.exit(2);
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
  if (!values.base) fail('--base is required.');
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
  process.stdout.write(`${values.base.replace(/\/$/, '')}${signed}\n`);
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'sign') sign(rest);
  else fail(command ? `unknown command "${command}".` : 'no command given.');
} catch (error) {
  fail((error as Error).message);
}
