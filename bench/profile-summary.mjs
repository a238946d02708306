// Summarises the CPU profiles written by `BENCH_PROFILE=dir npm run bench:connection`:
//   node bench/profile-summary.mjs dir [topN]
// For each leg (dir/<leg>.cpuprofile, request counts in dir/legs.json) prints µs per connection of
// main-thread time by category (certgate's src/, lru-cache, Express, Node's TLS/HTTP/net, native
// time with no JavaScript on the stack, GC), the difference from the 'bare' leg, and for the
// guarded leg the top certgate frames by total (inclusive) and self time, and the leaves (JS or
// native) under certgate frames. Sample weights are the gaps between sample timestamps.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const SPECIAL = new Set(['(program)', '(garbage collector)', '(idle)', '(root)']);

export function loadProfile(profile, projectRoot) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const src = `file://${projectRoot}/src/`;
  const short = (url) => {
    if (!url) return '';
    if (url.startsWith(`file://${projectRoot}/`)) return url.slice(`file://${projectRoot}/`.length);
    const nm = url.lastIndexOf('node_modules/');
    if (nm >= 0) return url.slice(nm);
    return url;
  };
  const frameKey = (n) => {
    const f = n.callFrame;
    if (SPECIAL.has(f.functionName)) return f.functionName;
    return `${f.functionName || '(anonymous)'} ${f.url ? `${short(f.url)}:${f.lineNumber + 1}` : '[native]'}`;
  };
  const category = (url) => {
    if (url.startsWith(src)) return 'certgate src/';
    if (url.includes('node_modules/lru-cache/')) return 'lru-cache';
    if (url.includes('node_modules/')) return 'express & other deps';
    if (url.startsWith(`file://${projectRoot}/bench/`)) return 'bench harness';
    if (/^node:(_tls|tls|internal\/tls)/.test(url)) return 'node tls';
    if (/^node:(_http|http|https|internal\/http)/.test(url)) return 'node http';
    if (/^node:(net|internal\/stream|stream|internal\/net)/.test(url)) return 'node net & streams';
    if (url.startsWith('node:')) return 'node other';
    return 'other';
  };
  // Sample i lasts until sample i+1 (the last one gets the mean gap).
  const stamps = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) stamps.push((t += d));
  const meanGap = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  const samples = profile.samples.map((id, i) => {
    const w = i + 1 < stamps.length ? stamps[i + 1] - stamps[i] : meanGap;
    const stack = [];
    for (let n = id; n !== undefined; n = parent.get(n)) stack.push(byId.get(n));
    return { leaf: stack[0], stack, w: Math.max(0, w) };
  });
  const isCertgate = (n) => n.callFrame.url.startsWith(src);
  // Frames that do work on behalf of their caller: native code, certgate's dependencies, Node's
  // crypto and certificate accessors, events. A sample belongs to certgate when the nearest frame
  // (from the leaf up) that is not one of these is certgate's; time in the route handler or in
  // Express, which certgate reaches by calling next(), is not certgate's.
  const transparent = (n) => {
    const url = n.callFrame.url;
    if (!url) return !SPECIAL.has(n.callFrame.functionName);
    return (
      /node_modules\/(lru-cache|@peculiar|asn1js|pvtsutils|pvutils|reflect-metadata|tslib|tsyringe)\//.test(url) ||
      /^node:(crypto|internal\/crypto|_tls_wrap|_tls_common|buffer|internal\/buffer|events|internal\/util|internal\/validators|internal\/errors)/.test(
        url,
      )
    );
  };
  const owner = (stack) => {
    for (const n of stack) if (!transparent(n)) return n;
    return undefined;
  };
  return { samples, frameKey, category, isCertgate, short, transparent, owner };
}

/** Category of a sample: the special name, or the nearest frame with a URL (native leaves take their caller's). */
function sampleCategory(p, s) {
  const name = s.leaf.callFrame.functionName;
  if (SPECIAL.has(name) && !s.leaf.callFrame.url)
    return name === '(program)' ? 'native, no JS on the stack (TLS handshake, I/O)' : name;
  for (const n of s.stack) if (n.callFrame.url) return p.category(n.callFrame.url);
  return 'other';
}

export function summarise(p, connections, topN = 15) {
  const add = (m, k, w) => m.set(k, (m.get(k) ?? 0) + w);
  const byCategory = new Map();
  const certSelf = new Map();
  const certTotal = new Map();
  const certLeaves = new Map();
  const certEntry = new Map();
  let busy = 0;
  let certgate = 0;
  let underCertgate = 0;
  for (const s of p.samples) {
    const cat = sampleCategory(p, s);
    if (cat === '(idle)') continue;
    busy += s.w;
    add(byCategory, cat, s.w);
    const certFrames = s.stack.filter(p.isCertgate);
    if (certFrames.length === 0) continue;
    underCertgate += s.w;
    const own = p.owner(s.stack);
    if (!own || !p.isCertgate(own)) continue;
    certgate += s.w;
    // Outermost certgate frame: which entry point the time was spent under.
    add(certEntry, p.frameKey(certFrames[certFrames.length - 1]), s.w);
    for (const k of new Set(certFrames.map(p.frameKey))) add(certTotal, k, s.w);
    add(certSelf, p.frameKey(own), s.w);
    add(certLeaves, p.frameKey(s.leaf), s.w);
  }
  const perConn = (m) => [...m.entries()].map(([k, w]) => [k, w / connections]).sort((a, b) => b[1] - a[1]);
  return {
    connections,
    busyUsPerConnection: busy / connections,
    certgateUsPerConnection: certgate / connections,
    underCertgateUsPerConnection: underCertgate / connections,
    byCategory: perConn(byCategory),
    certgateEntries: perConn(certEntry).slice(0, topN),
    certgateTotal: perConn(certTotal).slice(0, topN),
    certgateSelf: perConn(certSelf).slice(0, topN),
    leavesUnderCertgate: perConn(certLeaves).slice(0, topN),
  };
}

async function main() {
  const dir = process.argv[2];
  const topN = Number(process.argv[3] ?? 15);
  if (!dir) throw new Error('usage: node bench/profile-summary.mjs <dir written by BENCH_PROFILE> [topN]');
  const { projectRoot, legs } = JSON.parse(await readFile(join(dir, 'legs.json'), 'utf8'));
  const out = {};
  for (const [leg, info] of Object.entries(legs)) {
    const profile = JSON.parse(await readFile(info.file, 'utf8'));
    out[leg] = summarise(loadProfile(profile, projectRoot), info.requests, topN);
    out[leg].cpuUsageUsPerRequest = info.serverCpuUsPerRequest;
  }
  const f = (x) => x.toFixed(1).padStart(8);
  const names = Object.keys(out);
  console.log(`µs per connection (main-thread samples; process.cpuUsage also counts GC/helper threads)`);
  console.log(
    `${'leg'.padEnd(52)}${names.map((n) => n.padStart(10)).join('')}${
      out.bare
        ? names
            .filter((n) => n !== 'bare')
            .map((n) => `${n}-bare`.padStart(14))
            .join('')
        : ''
    }`,
  );
  const cats = [...new Set(names.flatMap((n) => out[n].byCategory.map(([k]) => k)))];
  const val = (n, c) => out[n].byCategory.find(([k]) => k === c)?.[1] ?? 0;
  const row = (label, get) =>
    console.log(
      `${label.padEnd(52)}${names.map((n) => `  ${f(get(n))}`).join('')}${
        out.bare
          ? names
              .filter((n) => n !== 'bare')
              .map((n) => `      ${f(get(n) - get('bare'))}`)
              .join('')
          : ''
      }`,
    );
  row('connections profiled', (n) => out[n].connections);
  row('process.cpuUsage() µs/req (unprofiled-comparable)', (n) => out[n].cpuUsageUsPerRequest);
  row('main thread busy (sampled)', (n) => out[n].busyUsPerConnection);
  for (const c of cats.sort((a, b) => val(names[0], b) - val(names[0], a))) row(`  ${c}`, (n) => val(n, c));
  row('under any certgate frame (incl. next() and the route)', (n) => out[n].underCertgateUsPerConnection);
  row("certgate's own (its code, its deps, what it calls natively)", (n) => out[n].certgateUsPerConnection);
  for (const leg of names) {
    const s = out[leg];
    if (s.certgateUsPerConnection === 0) continue;
    console.log(`\n== ${leg}: ${s.certgateUsPerConnection.toFixed(1)} µs/connection of certgate's own time`);
    const list = (title, rows) => {
      console.log(`  -- ${title}`);
      for (const [k, w] of rows) console.log(`  ${f(w)}  ${k}`);
    };
    list('by outermost certgate frame (entry point)', s.certgateEntries);
    list('certgate frames, total (inclusive) time', s.certgateTotal);
    list('certgate frames, self time (with the natives and dependencies they call)', s.certgateSelf);
    list('leaf frames (JS or native) of certgate-owned samples', s.leavesUnderCertgate);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
