/**
 * RFC 9440 values: RFC 8941 structured fields. `Client-Cert` is an Item whose bare item is a Byte
 * Sequence (`:<base64>:`); `Client-Cert-Chain` is a List of them. Parameters are parsed (RFC 8941
 * grammar) and ignored, as RFC 9440 defines none; inner lists and other bare items are refused.
 * One forward pass over the text: a cursor never moves back.
 */
import { FormatError, quoteSnippet, TextCursor } from './encodings.js';

const BASE64_BODY = /^[A-Za-z0-9+/=]*$/;
const KEY_FIRST = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_FIRST = /[A-Za-z*]/;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const DIGIT = /[0-9]/;

type Cursor = TextCursor;
const sfCursor = (text: string, what: string): Cursor =>
  new TextCursor(text, what, (problem) => `an RFC 8941 ${problem}`);

/**
 * RFC 8941 section 4.2.7: the base64 alphabet only; `=` padding may be missing (parsers SHOULD NOT
 * fail on it) but never sits before other characters.
 */
function decodeSfBase64(body: string, cursor: Cursor): Buffer {
  const padding = body.indexOf('=');
  if (padding !== -1 && !/^=*$/.test(body.slice(padding))) cursor.fail('byte sequence (= inside the base64)');
  const bare = padding === -1 ? body : body.slice(0, padding);
  if (bare.length % 4 === 1) cursor.fail('byte sequence (a base64 length no encoding gives)');
  if (padding !== -1 && body.length % 4 !== 0) cursor.fail('byte sequence (wrong base64 padding)');
  return Buffer.from(bare, 'base64');
}

function readByteSequence(cursor: Cursor): Buffer {
  if (cursor.peek() !== ':') cursor.fail(`byte sequence (found ${quoteSnippet(cursor.peek() ?? 'the end')})`);
  const start = cursor.at + 1;
  const close = cursor.text.indexOf(':', start);
  if (close === -1) cursor.fail('byte sequence (no closing colon)');
  const body = cursor.text.slice(start, close);
  if (!BASE64_BODY.test(body)) cursor.fail('byte sequence (a character outside base64)');
  cursor.at = close + 1;
  return decodeSfBase64(body, cursor);
}

function skipString(cursor: Cursor): void {
  cursor.at++;
  for (;;) {
    const c = cursor.peek();
    if (c === undefined) cursor.fail('string (no closing quote)');
    cursor.at++;
    if (c === '"') return;
    if (c === '\\') {
      if (cursor.peek() !== '"' && cursor.peek() !== '\\') cursor.fail('string (a bad escape)');
      cursor.at++;
    } else if (c < ' ' || c > '~') cursor.fail('string (a character outside printable ASCII)');
  }
}

function skipNumber(cursor: Cursor): void {
  if (cursor.peek() === '-') cursor.at++;
  const start = cursor.at;
  cursor.takeWhile(DIGIT);
  if (cursor.at === start) cursor.fail('number');
  if (cursor.peek() === '.') {
    cursor.at++;
    const fraction = cursor.at;
    cursor.takeWhile(DIGIT);
    if (cursor.at === fraction) cursor.fail('decimal');
  }
}

/** A parameter's value: any bare item (section 4.2.3.1), skipped since RFC 9440 defines no parameter. */
function skipBareItem(cursor: Cursor): void {
  const c = cursor.peek();
  if (c === '"') skipString(cursor);
  else if (c === ':') readByteSequence(cursor);
  else if (c === '?') {
    cursor.at++;
    if (cursor.peek() !== '0' && cursor.peek() !== '1') cursor.fail('boolean');
    cursor.at++;
  } else if (c === '-' || cursor.matches(DIGIT)) skipNumber(cursor);
  else if (cursor.matches(TOKEN_FIRST)) cursor.takeWhile(TOKEN_CHAR);
  else cursor.fail('parameter value');
}

function skipParameters(cursor: Cursor): void {
  while (cursor.peek() === ';') {
    cursor.at++;
    cursor.skipSpaces(false);
    if (!cursor.matches(KEY_FIRST)) cursor.fail('parameter key');
    cursor.takeWhile(KEY_CHAR);
    if (cursor.peek() === '=') {
      cursor.at++;
      skipBareItem(cursor);
    }
  }
}

function readItem(cursor: Cursor): Buffer {
  if (cursor.peek() === '(') cursor.fail('byte sequence (an inner list)');
  const bytes = readByteSequence(cursor);
  skipParameters(cursor);
  return bytes;
}

/** An sf-item holding a byte sequence (`Client-Cert`). */
export function parseSfBinaryItem(text: string, what: string): Buffer {
  const cursor = sfCursor(text, what);
  cursor.skipSpaces(false);
  const bytes = readItem(cursor);
  cursor.skipSpaces(false);
  if (cursor.peek() !== undefined) cursor.fail('item (text after it)');
  return bytes;
}

/** An sf-list of byte sequences (`Client-Cert-Chain`), at most `max` members. */
export function parseSfBinaryList(text: string, what: string, max: number): Buffer[] {
  const cursor = sfCursor(text, what);
  const members: Buffer[] = [];
  cursor.skipSpaces(false);
  while (cursor.peek() !== undefined) {
    if (members.length === max) throw new FormatError(`${what} carries more than ${max} certificates`);
    members.push(readItem(cursor));
    cursor.skipSpaces(true);
    if (cursor.peek() === undefined) break;
    if (cursor.peek() !== ',') cursor.fail('list (a member is followed by neither , nor the end)');
    cursor.at++;
    cursor.skipSpaces(true);
    if (cursor.peek() === undefined) cursor.fail('list (a trailing comma)');
  }
  return members;
}
