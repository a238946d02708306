/**
 * The CRL distribution point of bench/crl-refresh-load.ts, in a process of its own (a real CRL
 * server is another machine: sending 49 MB must not be counted as the verifier's work). Serves the
 * file named by the last `{ file }` message; reports `{ port }` once listening, `{ ready }` once a
 * file is read, and `{ sent }` after each response.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

let body = Buffer.alloc(0);
process.on('message', (message) => {
  if (message.file) {
    body = readFileSync(message.file);
    process.send({ ready: true });
  }
});
const server = http.createServer((_req, res) => {
  res.on('finish', () => process.send({ sent: true }));
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
