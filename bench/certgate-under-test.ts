/**
 * The certgate a bench measures: the built package with BENCH_FROM=dist (what users run; the CRL
 * worker then starts from dist/ without the TypeScript loader, about half a second sooner than
 * from source under tsx), else the source tree. The dist/ paths are not literals, so that type
 * checking does not need a build.
 */
export const fromDist = process.env.BENCH_FROM === 'dist';
const dist = (name: string) => new URL(`../dist/${name}.js`, import.meta.url).href;
export const { createVerifier } = (
  fromDist ? await import(dist('index')) : await import('../src/index.js')
) as typeof import('../src/index.js');
export const { requireClientCert } = (
  fromDist ? await import(dist('express')) : await import('../src/adapters/express.js')
) as typeof import('../src/adapters/express.js');
