// Module resolution hooks for the Nest 10 child (test/nestjs10.test.ts): Nest and what must be the
// same instance as Nest's (rxjs, reflect-metadata) resolve from test/fixtures/nest10, whoever imports
// them (certgate's source, the test app), so that one Nest 10 runs beside the root's Nest 11.
const MAPPED = /^(@nestjs\/[^/]+|rxjs|reflect-metadata)(\/|$)/;
let fixture;

export function initialize(data) {
  fixture = data.fixture;
}

export function resolve(specifier, context, nextResolve) {
  if (fixture && MAPPED.test(specifier)) return nextResolve(specifier, { ...context, parentURL: fixture });
  return nextResolve(specifier, context);
}
