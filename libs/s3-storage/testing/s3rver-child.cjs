// An s3rver on 127.0.0.1 for tests, run as its own process so its CPU and file I/O stay out of
// the test's event loop. Prints {"port": n} on stdout once listening; stops on SIGTERM.
//
// s3rver 3.7.1 writes objects in place and answers a PUT before the bytes are on disk, so a GET
// racing a PUT of the same key can read a torn object. Real S3 replaces an object atomically;
// the store below is patched to behave that way (temp file + rename, and the data and its
// metadata changed together), so the backend under test is held to real S3 semantics and never
// has to work around s3rver.
'use strict';
const { createHash, randomBytes } = require('node:crypto');
const { Readable, Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const path = require('node:path');
const fs = require('fs-extra');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

const [directory, bucket, port] = process.argv.slice(2);

/** Per-key lock: a GET's metadata read and file open, and a PUT's rename and metadata write, never interleave. */
const tails = new Map();
function locked(bucketName, key, work) {
  const id = `${bucketName}/${key}`;
  const previous = tails.get(id) ?? Promise.resolve();
  const run = previous.then(work, work);
  const tail = run.catch(() => undefined);
  tails.set(id, tail);
  tail.then(() => tails.get(id) === tail && tails.delete(id));
  return run;
}

const originalGetObject = FilesystemStore.prototype.getObject;
const originalDeleteObject = FilesystemStore.prototype.deleteObject;

FilesystemStore.prototype.getObject = function getObject(bucketName, key, options) {
  return locked(bucketName, key, () => originalGetObject.call(this, bucketName, key, options));
};
FilesystemStore.prototype.deleteObject = function deleteObject(bucketName, key) {
  return locked(bucketName, key, () => originalDeleteObject.call(this, bucketName, key));
};
FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  const staging = path.join(this.rootDirectory, '.staging', randomBytes(8).toString('hex'));
  await fs.mkdirp(path.dirname(staging));
  const md5 = createHash('md5');
  let size = 0;
  const counted = new Transform({
    transform(chunk, encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
  await pipeline(source, counted, fs.createWriteStream(staging));
  const digest = md5.digest('hex');
  return locked(object.bucket, object.key, async () => {
    await fs.mkdirp(path.dirname(objectPath));
    await fs.rename(staging, objectPath);
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  });
};

async function main() {
  const server = new S3rver({ address: '127.0.0.1', port: Number(port ?? 0), silent: true, directory, configureBuckets: [{ name: bucket }] });
  const address = await server.run();
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
