/**
 * `npm run demo`: one-way and mutual TLS side by side on the Express banking example.
 * Makes a dev PKI in a temporary folder, starts the server on a free port, sends requests with
 * and without client certificates, prints each result, and stops.
 */
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevPki } from '../src/devpki/generate.js';
import { createBankingServer } from './express-banking.js';

const dir = mkdtempSync(join(tmpdir(), 'certgate-demo-'));
const files = await generateDevPki(dir);
const server = createBankingServer(dir);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const ca = readFileSync(files.caBundle);

function get(
  path: string,
  client?: { cert: string; key: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'localhost',
        ca,
        agent: false,
        ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    req.on('error', reject);
  });
}

const cases: Array<[string, string, { cert: string; key: string } | undefined]> = [
  ['public page, no certificate (one-way TLS)', '/', undefined],
  ['banking, no certificate', '/banking/balance', undefined],
  ['banking, alice (good certificate, customer)', '/banking/balance', files.clients.alice],
  ['banking, mallory (revoked certificate)', '/banking/balance', files.clients.mallory],
  ['banking, eve (expired certificate)', '/banking/balance', files.clients.eve],
  ['banking, bob (good certificate, auditor, not customer)', '/banking/balance', files.clients.bob],
  ['audit, bob (auditor)', '/banking/audit', files.clients.bob],
];

console.log(`certgate demo: Express banking example on https://localhost:${port} (dev PKI in ${dir})\n`);
let failed = false;
try {
  for (const [label, path, client] of cases) {
    const { status, body } = await get(path, client);
    const outcome = typeof body.code === 'string' ? body.code : `user=${String(body.user ?? '-')}`;
    console.log(`${String(status).padEnd(4)} ${outcome.padEnd(20)} GET ${path.padEnd(17)} ${label}`);
  }
} catch (err) {
  failed = true;
  console.error(`demo failed: ${(err as Error).message}`);
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
