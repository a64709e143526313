'use strict';
// Launches @20minutes/s3rver for the Python test harness (tests/servers/s3.py).
// Config comes from env so the Python side owns port, directory and keys:
//   S3RVER_PORT, S3RVER_DIR, S3RVER_BUCKET, S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY,
//   S3RVER_VERBOSE=1 to log each request to stdout.
// Prints "READY <port>" on stdout once listening; exits cleanly on SIGTERM/SIGINT.

const S3rver = require('@20minutes/s3rver');
// s3rver 4.x has no credentials option: keys live in a process-wide registry
// seeded with S3RVER/S3RVER. We add ours and revoke the default one.
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

const env = process.env;
const accessKey = env.S3RVER_ACCESS_KEY || 'S3RVER';
const secretKey = env.S3RVER_SECRET_KEY || 'S3RVER';
if (accessKey !== 'S3RVER') AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);

const cors = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>DELETE</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(env.S3RVER_PORT),
  directory: env.S3RVER_DIR,
  silent: env.S3RVER_VERBOSE !== '1',
  vhostBuckets: false, // path-style only
  configureBuckets: [{ name: env.S3RVER_BUCKET, configs: [cors] }],
});

// Node closes a kept-alive connection idle for keepAliveTimeout (5 s by default) from a timer,
// and that timer runs late while s3rver's event loop is busy (a 1,000-key DeleteObjects keeps
// it busy for seconds): it then closes connections on which a client has just sent its next
// request, and the client sees the connection closed under its call (BENCHMARKS.md, item 6).
// A longer idle timeout keeps that race, a quirk of this stand-in, out of tests and benchmarks.
const KEEP_ALIVE_MS = 120000;

server.run().then(
  (addr) => {
    server.httpServer.keepAliveTimeout = KEEP_ALIVE_MS;
    process.stdout.write(`READY ${addr.port}\n`);
  },
  (err) => {
    process.stderr.write(`s3rver failed to start: ${err.stack || err}\n`);
    process.exit(1);
  },
);

const shutdown = () => {
  server.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref(); // don't hang on keep-alive sockets
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
