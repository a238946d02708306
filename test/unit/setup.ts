/**
 * Setup of the unit project (vitest.config.ts): a unit test starts no server. One that does is an
 * integration test; put it outside test/unit/ (and out of UNIT_TESTS).
 */
import net from 'node:net';

net.Server.prototype.listen = function refuseListen(): never {
  throw new Error(
    'a unit test started a server (net.Server.listen): move this file out of test/unit/ (integration project)',
  );
};
