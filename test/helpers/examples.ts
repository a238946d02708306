/**
 * Starts an example the way its header says (`npx tsx examples/<file> <pki-dir>`, `PORT` to move
 * it off its default port) and resolves once it has printed `readyWhen` (by default, where it
 * listens). The examples' tests ask it over real TLS; every example started here is stopped with
 * its process group (npx starts tsx, which starts node) when `stopExamples()` runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children: ChildProcess[] = [];

export function stopExamples(): void {
  for (const child of children) if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid);
}

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface RunningExample {
  origin: string;
  port: number;
  /** The PKI folder given on the command line. */
  pki: string;
  /** What the example printed so far. */
  output(): string;
}

export async function startExample(file: string, readyWhen?: (port: number) => string): Promise<RunningExample> {
  const pki = join(mkdtempSync(join(tmpdir(), 'certgate-example-')), 'pki');
  const port = await freePort();
  const child = spawn('npx', ['tsx', `examples/${file}`, pki], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  const marker = readyWhen?.(port) ?? `https://localhost:${port}`;
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start in time:\n${output}`)), 45_000);
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(marker)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}):\n${output}`)));
  });
  return { origin: `https://localhost:${port}`, port, pki, output: () => output };
}
