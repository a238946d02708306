/**
 * Kept only so that branches written against it still compile: the PKI and server helpers live in
 * ./clients.js (one PKI helper, makePki). Import from there; delete this file once nothing imports it.
 */
export { makePki, startHttps, type Pem, type RunningServer, type TestPki } from './clients.js';
export { makePki as makeTestPki } from './clients.js';
