/**
 * Large CRLs decoded, indexed, hashed and signature-checked in a worker_threads worker
 * (crl-worker.ts), so that loading or refreshing a 50 MB CRL costs the event loop a few
 * milliseconds in all. The worker lives only while there is work (it ends after IDLE_MS without
 * any), so an idle server has no extra thread. Where no worker can run (its file is missing because
 * certgate was bundled into one file, or it crashed), the same work is done on the main thread in
 * slices (parseCrlAsync, verifyInSlices): slower for the requests served meanwhile, never wrong.
 */
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { crlDers, SLICE_MS } from './crl-bytes.js';
import { crlFromIndexedEntries, MalformedCrlError, monotonicNow, parseCrlAsync, type ParsedCrl } from './crl.js';
import { LARGE_CRL_BYTES } from './crl-header.js';
import type { CrlWorkerJob, CrlWorkerReply, Fetched, SharedDer } from './crl-worker.js';
import type { SharedLease } from './byte-budget.js';
import { nextTurn } from './pacing.js';

/** How long a worker with nothing to do is kept before it ends (ms). */
export const IDLE_MS = 2_000;
/** Bytes copied into shared memory between two checks of the clock. */
const COPY_STEP = 256 * 1024;

/** The worker could not run the job (no worker file, a crash): the caller does the work itself. */
class WorkerUnavailable extends Error {}

type Job = { [K in CrlWorkerJob['kind']]: Omit<Extract<CrlWorkerJob, { kind: K }>, 'id'> }[CrlWorkerJob['kind']];

/** Where the worker's code is: beside this module's file, in the source tree or in dist/ (ESM or CJS). */
function workerLocation(): { url: URL } | { source: string } | undefined {
  let here: string;
  try {
    here = import.meta.url;
  } catch {
    return undefined;
  }
  if (typeof here !== 'string' || !here.startsWith('file:')) return undefined;
  // From source (tests, benches), the TypeScript file runs under the tsx loader (a worker does not
  // inherit the parent's loader hooks on Node 20, so it registers them itself).
  if (here.endsWith('.ts')) {
    const worker = JSON.stringify(new URL('./crl-worker.ts', here).href);
    return { source: `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${worker}); })` };
  }
  return { url: new URL(here.endsWith('.cjs') ? './crl-worker.cjs' : './crl-worker.js', here) };
}

/** One worker, started on demand and ended when idle; jobs run there as they arrive. */
class CrlWorkerHost {
  private worker: Worker | undefined;
  /** Jobs sent and not answered yet, by id. */
  private readonly pending = new Map<number, { resolve: (r: CrlWorkerReply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Set once a worker could not be started: no point in trying for every CRL. */
  unavailable = false;

  /**
   * `transfer`: buffers moved to the worker (they are empty here afterwards). `signal` abandons the
   * job (a download): the worker is told, and the job's own reply reports the abort.
   */
  run(job: Job, transfer: ArrayBuffer[] = [], signal?: AbortSignal): Promise<CrlWorkerReply> {
    if (this.unavailable) return Promise.reject(new WorkerUnavailable('no CRL worker'));
    const worker = this.worker ?? this.start();
    if (!worker) return Promise.reject(new WorkerUnavailable('the CRL worker could not start'));
    clearTimeout(this.idleTimer);
    const id = this.nextId++;
    const cancel = () => worker.postMessage({ id, kind: 'cancel' } satisfies CrlWorkerJob);
    return new Promise<CrlWorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      // The CRL's bytes are in shared memory or moved: nothing is copied.
      worker.postMessage({ ...job, id } as CrlWorkerJob, transfer);
      signal?.addEventListener('abort', cancel, { once: true });
    }).finally(() => signal?.removeEventListener('abort', cancel));
  }

  private start(): Worker | undefined {
    const where = workerLocation();
    if (!where) {
      this.unavailable = true;
      return undefined;
    }
    let worker: Worker;
    try {
      worker =
        'url' in where
          ? new Worker(where.url, { execArgv: [] })
          : new Worker(where.source, { eval: true, execArgv: [] });
    } catch {
      this.unavailable = true;
      return undefined;
    }
    // A worker that came online and later died (mid-download, say) may be started again.
    let online = false;
    worker.once('online', () => (online = true));
    worker.on('message', (reply: CrlWorkerReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      waiting?.resolve(reply);
      if (this.pending.size === 0) this.idle();
    });
    const fail = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      // A worker that never came online is taken as one that cannot start here.
      if (!online) this.unavailable = true;
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const w of waiting) w.reject(new WorkerUnavailable(why));
    };
    worker.on('error', (err) => fail(`the CRL worker failed: ${err.message}`));
    worker.on('exit', (code) => fail(`the CRL worker exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  private idle(): void {
    const worker = this.worker;
    if (!worker) return;
    worker.unref();
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.worker !== worker || this.pending.size > 0) return;
      this.worker = undefined;
      void worker.terminate();
    }, IDLE_MS);
    this.idleTimer.unref();
  }
}

const host = new CrlWorkerHost();

/**
 * Turns the worker off (false) or on again: with it off, CRLs are decoded on the main thread in
 * slices. For the benches that compare the two; not part of the public API.
 */
export function useCrlWorker(enabled: boolean): void {
  host.unavailable = !enabled;
}

/** Whether large CRLs go to a worker (false once one could not start, or where none can). */
export function crlWorkerAvailable(): boolean {
  return !host.unavailable && workerLocation() !== undefined;
}

/** Whether a worker is running now (for tests: an idle process has none). */
export function crlWorkerRunning(): boolean {
  return (host as unknown as { worker?: Worker }).worker !== undefined;
}

/** The input copied into shared memory in steps, yielding whenever a slice has run SLICE_MS. */
export async function toSharedInSlices(input: string | Uint8Array, now = monotonicNow): Promise<Buffer> {
  const out = Buffer.from(new SharedArrayBuffer(Math.max(1, input.length)));
  let since = now();
  for (let pos = 0; pos < input.length; pos += COPY_STEP) {
    const end = Math.min(input.length, pos + COPY_STEP);
    if (typeof input === 'string') out.write(input.slice(pos, end), pos, 'latin1');
    else out.set(input.subarray(pos, end), pos);
    if (now() - since > SLICE_MS) {
      await nextTurn();
      since = now();
    }
  }
  return out.subarray(0, input.length);
}

/** A key that may have signed the CRLs being loaded, and the id of its certificate (ParsedCrl.verifiedWith). */
export interface CandidateSigner {
  id: string;
  key: KeyObject;
}

/**
 * The CRLs in `input` (DER, or PEM with one or more X509 CRL blocks), decoded and indexed off the
 * main thread, each signature checked with every `signers` key (recorded in verifiedWith). Throws
 * MalformedCrlError for anything that is not a well-formed CRL.
 */
export async function loadCrls(
  input: string | Uint8Array,
  signers: readonly CandidateSigner[] = [],
  legacyAlgorithms = false,
  options: { owned?: boolean; paced?: boolean } = {},
): Promise<ParsedCrl[]> {
  // A small CRL costs less to decode here than to hand to a worker.
  if (input.length < LARGE_CRL_BYTES)
    return loadInThisThread(
      typeof input === 'string'
        ? Buffer.from(input, 'latin1')
        : Buffer.from(input.buffer, input.byteOffset, input.length),
    );
  // PEM text (a static value) is decoded here in slices, straight into shared memory, rather than
  // copied whole first (66 MB at 1,000,000 entries); each DER then goes to the worker as it is.
  if (typeof input === 'string')
    return (
      await Promise.all(
        (await pemToShared(input)).map((der) => loadCrls(der, signers, legacyAlgorithms, { paced: options.paced })),
      )
    ).flat();
  // Bytes the caller hands over (a download) move to the worker as they are; others are copied
  // into shared memory, since the caller keeps them.
  const movable = options.owned === true && typeof input !== 'string' && ownsItsBuffer(input);
  const inPlace = movable || input.buffer instanceof SharedArrayBuffer;
  const bytes = inPlace ? Buffer.from(input.buffer, input.byteOffset, input.length) : await toSharedInSlices(input);
  let reply: CrlWorkerReply;
  try {
    const keys = signers.map((s) => s.key);
    const where = { offset: bytes.byteOffset, length: bytes.length };
    const paced = options.paced === true;
    const job = { kind: 'parse' as const, input: bytes.buffer as ArrayBuffer, ...where, keys, legacyAlgorithms, paced };
    reply = await host.run(job, movable ? [bytes.buffer as ArrayBuffer] : []);
  } catch (err) {
    if (!(err instanceof WorkerUnavailable)) throw err;
    // Moved to a worker that then failed: gone (the source is tried again later, with backoff).
    if (bytes.buffer.byteLength === 0) throw new Error(`the CRL could not be decoded (${err.message})`);
    return loadInThisThread(bytes);
  }
  if (!reply.ok) throw reply.malformed ? new MalformedCrlError(reply.message) : new Error(reply.message);
  if (!('crls' in reply)) throw new Error('the CRL worker answered another job');
  const crls: ParsedCrl[] = [];
  for (const { der, entries, verifiedBy } of reply.crls) {
    const crl = await crlFromIndexedEntries(Buffer.from(der.buffer, der.offset, der.length), entries);
    for (const i of verifiedBy) {
      const signer = signers[i];
      if (signer) crl.verifiedWith.add(signer.id);
    }
    crls.push(crl);
  }
  return crls;
}

/** The DER CRLs of PEM text, each in shared memory; MalformedCrlError if the text is not that. */
async function pemToShared(text: string): Promise<Buffer[]> {
  try {
    return await crlDers(text, (size) => Buffer.from(new SharedArrayBuffer(Math.max(1, size))));
  } catch (err) {
    throw new MalformedCrlError((err as Error).message);
  }
}

function ownsItsBuffer(bytes: Uint8Array): boolean {
  return (
    !(bytes.buffer instanceof SharedArrayBuffer) && bytes.byteOffset === 0 && bytes.length === bytes.buffer.byteLength
  );
}

async function loadInThisThread(bytes: Buffer): Promise<ParsedCrl[]> {
  let ders: Buffer[];
  try {
    ders = await crlDers(bytes);
  } catch (err) {
    throw new MalformedCrlError((err as Error).message);
  }
  const crls: ParsedCrl[] = [];
  for (const der of ders) crls.push(await parseCrlAsync(der));
  return crls;
}

/**
 * Does `key` verify the CRL's signature, checked in the worker? Undefined when that cannot be done
 * (the DER is not in shared memory, or no worker runs): the caller checks it itself.
 */
export async function verifyOffThread(
  crl: ParsedCrl,
  key: KeyObject,
  legacyAlgorithms: boolean,
): Promise<boolean | undefined> {
  if (!(crl.der.buffer instanceof SharedArrayBuffer) || host.unavailable) return undefined;
  const der: SharedDer = { buffer: crl.der.buffer, offset: crl.der.byteOffset, length: crl.der.length };
  try {
    const reply = await host.run({ kind: 'verify', der, key, legacyAlgorithms });
    return reply.ok && 'verified' in reply ? reply.verified : false;
  } catch (err) {
    if (err instanceof WorkerUnavailable) return undefined;
    throw err;
  }
}

/** A response the worker read: the body in shared memory, and the validators for the next request. */
export type FetchedOffThread = Omit<Fetched, 'body'> & { bytes: Buffer };

/**
 * A CRL URL fetched by the worker, with the same client, limits and errors as on the main thread
 * (fetchBounded), charged to `lease`: receiving 49 MB costs an event loop 0.3-0.6 s of CPU in
 * 64 KiB chunks, which the worker takes instead (`paced`: resting between slices, pacing.ts).
 * Undefined when no worker can run: the caller fetches it itself.
 */
export async function fetchOffThread(
  url: string,
  request: { headers: Record<string, string>; maxBytes: number; timeoutMs: number; signal: AbortSignal },
  lease: SharedLease,
  paced: boolean,
): Promise<FetchedOffThread | undefined> {
  if (host.unavailable) return undefined;
  if (request.signal.aborted) throw new Error('aborted: the verifier was closed');
  const { headers, maxBytes, timeoutMs, signal } = request;
  let reply: CrlWorkerReply;
  try {
    reply = await host.run({ kind: 'fetch', url, headers, maxBytes, timeoutMs, lease, paced }, [], signal);
  } catch (err) {
    if (err instanceof WorkerUnavailable) return undefined;
    throw err;
  }
  if (!reply.ok) throw new Error(reply.message);
  if (!('fetched' in reply)) throw new Error('the CRL worker answered another job');
  const { body, ...rest } = reply.fetched;
  return { ...rest, bytes: Buffer.from(body.buffer, body.offset, body.length) };
}
