/**
 * JSON read the way Go's encoding/json reads it into a struct, which is how every other CNI
 * plugin and runtime reads a network configuration. The differences from JSON.parse that matter:
 *  - a struct field matches its exact name, else any key equal to it under Unicode simple case
 *    folding ("IngressRate" and "INGRESSRATE" fill ingressRate; "\u212Aey" fills key): containerd
 *    and CRI-O send runtimeConfig.bandwidth with capitalised keys (go-cni's struct has no tags);
 *  - keys are taken in document order and a later key for a field overwrites an earlier one,
 *    also when they are spelt differently; null leaves a scalar or a struct as it was and
 *    clears a pointer, map or slice; an object decoded into a struct or map that is already
 *    there merges into it (and an array into a slice of structs, element by element);
 *  - map keys (pod annotations, prevResult) are matched exactly; unknown keys are skipped.
 * A value of the wrong type is kept as it came and sticks, so the field's validator refuses it
 * (Go reports such an error and fails the whole decode).
 *
 * Parsing accepts exactly what JSON.parse accepts (RFC 8259), nested at most MAX_DEPTH deep.
 */
import { CNI_CODE, CniError } from './errors';

/** Deeper nesting is refused (Go refuses 10,000; a CNI configuration is a few levels deep). */
export const MAX_DEPTH = 1000;

/** A JSON object with every key as written: in order, duplicates kept. */
export class JsonObject {
  constructor(readonly entries: [string, JsonValue][]) {}
}
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

export type Schema =
  /** interface{}: any JSON value, replaced whole by each occurrence. */
  | { kind: 'any' }
  | { kind: 'string' }
  | { kind: 'number' }
  /** A struct (or, with pointer, a pointer to one: null clears it). */
  | { kind: 'struct'; fields: Record<string, Schema>; pointer?: boolean }
  /** map[string]X: exact keys. */
  | { kind: 'map'; of: Schema }
  | { kind: 'slice'; of: Schema };

export const ANY: Schema = { kind: 'any' };
export const STRING: Schema = { kind: 'string' };
export const NUMBER: Schema = { kind: 'number' };

function syntaxError(text: string, at: number, what: string): CniError {
  const line = text.slice(0, at).split('\n').length;
  return new CniError(
    CNI_CODE.DECODING_FAILURE,
    'error decoding the network configuration',
    `${what} at offset ${at} (line ${line})`,
  );
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEX4_RE = /[0-9a-fA-F]{4}/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/** Parses one JSON text (surrounding white space allowed), keeping objects' keys as written. */
export function parseJson(text: string): JsonValue {
  let at = 0;
  const space = () => {
    while (at < text.length && WS.has(text.charCodeAt(at))) at++;
  };
  const literal = (word: string, value: JsonValue): JsonValue => {
    if (!text.startsWith(word, at)) throw syntaxError(text, at, 'unexpected character');
    at += word.length;
    return value;
  };
  const string = (): string => {
    const start = at++;
    let escaped = false;
    for (;;) {
      if (at >= text.length) throw syntaxError(text, start, 'unterminated string');
      const c = text.charCodeAt(at);
      if (c === 0x22) break;
      if (c < 0x20) throw syntaxError(text, at, 'control character in a string');
      if (c !== 0x5c) {
        at++;
        continue;
      }
      escaped = true;
      const e = text[at + 1];
      HEX4_RE.lastIndex = at + 2;
      if (e === 'u' && HEX4_RE.test(text)) at += 6;
      else if (e !== undefined && ESCAPES.has(e)) at += 2;
      else throw syntaxError(text, at, 'invalid escape in a string');
    }
    const literal = text.slice(start, ++at);
    return escaped ? (JSON.parse(literal) as string) : literal.slice(1, -1);
  };
  const value = (depth: number): JsonValue => {
    space();
    const c = text[at];
    if ((c === '{' || c === '[') && depth >= MAX_DEPTH)
      throw syntaxError(text, at, `nested deeper than ${MAX_DEPTH} levels`);
    if (c === '{') {
      at++;
      const entries: [string, JsonValue][] = [];
      space();
      if (text[at] === '}') {
        at++;
        return new JsonObject(entries);
      }
      for (;;) {
        space();
        if (text[at] !== '"') throw syntaxError(text, at, 'expected a key');
        const key = string();
        space();
        if (text[at] !== ':') throw syntaxError(text, at, "expected ':' after a key");
        at++;
        entries.push([key, value(depth + 1)]);
        space();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === '}') {
          at++;
          return new JsonObject(entries);
        }
        throw syntaxError(text, at, "expected ',' or '}'");
      }
    }
    if (c === '[') {
      at++;
      const items: JsonValue[] = [];
      space();
      if (text[at] === ']') {
        at++;
        return items;
      }
      for (;;) {
        items.push(value(depth + 1));
        space();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === ']') {
          at++;
          return items;
        }
        throw syntaxError(text, at, "expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    NUMBER_RE.lastIndex = at;
    const m = NUMBER_RE.exec(text);
    if (!m)
      throw syntaxError(text, at, at >= text.length ? 'unexpected end of input' : 'unexpected character');
    at += m[0].length;
    return Number(m[0]);
  };
  const v = value(0);
  space();
  if (at < text.length) throw syntaxError(text, at, 'unexpected data after the top-level value');
  return v;
}

/**
 * Go's key folding (encoding/json foldName): ASCII letters to upper case, any other character to
 * the smallest of its simple case-folding orbit. Keys netqos looks up are ASCII, and the only
 * other characters folding onto ASCII letters are U+212A KELVIN SIGN (K) and U+017F LONG S (S).
 */
export function foldKey(key: string): string {
  let out = '';
  for (const ch of key) {
    if (ch === '\u212a') out += 'K';
    else if (ch === '\u017f') out += 'S';
    else if (ch.length === 1 && ch.charCodeAt(0) < 0x80) out += ch.toUpperCase();
    else out += foldRune(ch);
  }
  return out;
}

/** A non-ASCII character's stand-in under folding: equal for characters of one orbit. */
function foldRune(ch: string): string {
  const upper = ch.toUpperCase();
  const lower = (upper.length === ch.length ? upper : ch).toLowerCase();
  return lower.length === ch.length ? lower : ch;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sets an own property, also "__proto__" (as JSON.parse does). */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** What JSON.parse would have made of a parsed value (objects: the last of equal keys). */
export function toPlain(v: JsonValue): unknown {
  if (Array.isArray(v)) return v.map(toPlain);
  if (!(v instanceof JsonObject)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of v.entries) setOwn(out, k, toPlain(x));
  return out;
}

/** A struct's fields by exact name and by folded name. */
const fieldIndex = new WeakMap<object, { exact: Set<string>; folded: Map<string, string> }>();
function indexOf(fields: Record<string, Schema>) {
  let index = fieldIndex.get(fields);
  if (!index) {
    const names = Object.keys(fields);
    index = { exact: new Set(names), folded: new Map(names.map((f) => [foldKey(f), f])) };
    fieldIndex.set(fields, index);
  }
  return index;
}

/** A struct's fields that received a value of the wrong type: later keys leave them alone. */
const mistypedFields = new WeakMap<object, Set<string>>();

/**
 * Decodes `v` into `current` (the field's value so far, undefined when unset) as Go decodes
 * into a field of type `schema`: the field's new value, and whether `v` had the wrong type
 * (then the value is `v` as JSON.parse makes it).
 */
function decodeInto(schema: Schema, v: JsonValue, current: unknown): [unknown, boolean] {
  switch (schema.kind) {
    case 'any':
      return [toPlain(v), false];
    case 'string':
    case 'number':
      if (v === null) return [current, false];
      return typeof v === schema.kind ? [v, false] : [toPlain(v), true];
    case 'struct': {
      if (v === null) return [schema.pointer ? undefined : current, false];
      if (!(v instanceof JsonObject)) return [toPlain(v), true];
      const out = isObject(current) ? current : {};
      const { exact, folded } = indexOf(schema.fields);
      for (const [k, x] of v.entries) {
        const field = exact.has(k) ? k : folded.get(foldKey(k));
        const fieldSchema = field === undefined ? undefined : schema.fields[field];
        if (field === undefined || fieldSchema === undefined || mistypedFields.get(out)?.has(field)) continue;
        const [next, wrong] = decodeInto(fieldSchema, x, out[field]);
        if (wrong) {
          if (!mistypedFields.has(out)) mistypedFields.set(out, new Set());
          mistypedFields.get(out)!.add(field);
        }
        if (next === undefined) delete out[field];
        else out[field] = next;
      }
      return [out, false];
    }
    case 'map': {
      if (v === null) return [undefined, false];
      if (!(v instanceof JsonObject)) return [toPlain(v), true];
      const out = isObject(current) ? current : {};
      for (const [k, x] of v.entries) setOwn(out, k, decodeInto(schema.of, x, undefined)[0]);
      return [out, false];
    }
    case 'slice': {
      if (v === null) return [undefined, false];
      if (!Array.isArray(v)) return [toPlain(v), true];
      const before = Array.isArray(current) ? current : [];
      return [v.map((x, i) => decodeInto(schema.of, x, before[i])[0]), false];
    }
  }
}

/**
 * A JSON text decoded into a struct described by `fields`, as Go would fill it: a plain object
 * with the fields' own names. A top level that is not an object is refused (code 6).
 */
export function decodeStruct(text: string, fields: Record<string, Schema>): Record<string, unknown> {
  const v = parseJson(text);
  if (!(v instanceof JsonObject))
    throw new CniError(
      CNI_CODE.DECODING_FAILURE,
      'error decoding the network configuration',
      'not a JSON object',
    );
  return decodeInto({ kind: 'struct', fields }, v, undefined)[0] as Record<string, unknown>;
}
