// `node --import tsx --import ./test/helpers/nest10-register.mjs app.ts`: see nest10-hooks.mjs.
import { register } from 'node:module';

const fixture = new URL('../fixtures/nest10/package.json', import.meta.url).href;
register('./nest10-hooks.mjs', import.meta.url, { data: { fixture } });
