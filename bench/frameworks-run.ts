/** `npm run bench:frameworks`: part 7 of `npm run bench` alone, written to bench/results-frameworks.json. */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { log } from './config.js';
import { frameworkRows, measureFrameworks } from './frameworks.js';

const result = await measureFrameworks(log);
log();
for (const [k, v] of frameworkRows(result)) log(v === '' ? k : `  ${k}  ${v}`);
const out = fileURLToPath(new URL('./results-frameworks.json', import.meta.url));
await writeFile(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...result }, null, 2)}\n`,
);
log(`results written to ${out}`);
