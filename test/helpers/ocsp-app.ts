/** GET /account of an OCSP test app over real mutual TLS, as one of the OCSP test PKI's clients. */
import https from 'node:https';
import type { OcspLeaf, OcspPki } from './ocsp-responder.js';

export type AccountReply = { status: number; body: any };

/** A function that asks the app on `port` for /account with `client`'s certificate (and `agent`, if any). */
export function accountGetter(port: number, pki: OcspPki) {
  return (client: OcspLeaf | 'noeku', agent?: https.Agent): Promise<AccountReply> =>
    new Promise((resolve, reject) => {
      const { cert, key } = pki.client(client);
      const options = { host: '127.0.0.1', port, path: '/account', servername: 'localhost', ca: pki.pem('ca') };
      const req = https.request({ ...options, cert, key, agent: agent ?? false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end();
    });
}
