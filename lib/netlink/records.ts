// Builds the objects the native engine decoded (native/records.h): one flat array of numbers and
// one table of strings. Each object starts with the number of its shape (its keys, in order,
// each with the type of its value), numbered once per process; its values follow, untagged.
// Each shape is built by one function compiled for it, which reads its values straight through
// and returns an object literal with its keys: V8 then creates every object of that shape in one
// allocation with one hidden class, many times faster than setting properties one by one
// through N-API, and smaller. A read is then a loop over top-level objects, each one call.

type Raw = Record<string, unknown>;

// native/records.h FieldType.
const NUMBER = 0;
const STRING = 1;
const BOOL = 2;
const STRINGS = 3;
const OBJECT = 4;
const ARRAY = 5;
const NUMBERS = 6;
// native/records.h kSegment, RecordStream::kDropped.
const SEGMENT = 10;
const DROPPED = 0xffffffff;

/** Builds one object from the values at cursor.at (which it moves past them). */
type Build = (values: Float64Array, text: string[]) => Raw;

/** Where the builders are in the values of the stream being read. */
const cursor = { at: 0 };
/** The builder of each shape, by its number. */
const builders: Build[] = [];

function malformed(at: number): never {
  throw new Error(`netqos: malformed record stream (at value ${at})`);
}

/** The builder at values[at] (an object's shape). */
function builderAt(values: Float64Array, at: number): Build {
  const shape = values[at];
  return (shape !== undefined && builders[shape]) || malformed(at);
}

/** The length at values[at] of a list of strings or objects (each at least one value). */
function countAt(values: Float64Array, at: number): number {
  const n = values[at];
  return n !== undefined && n >= 0 && n <= values.length - at - 1 ? n : malformed(at);
}

/** The source of one field's read, into `f${k}`, advancing `i` (arrays grow by index). */
function readField(type: number, k: number): string {
  const nested = (into: string) => `c.at = i + 1; ${into} = at(v, i)(v, t); i = c.at;`;
  switch (type) {
    case NUMBER:
      // As a small integer where it is one: V8 then keeps it in the object itself, instead of
      // a 16-byte number box per field (most fields are counts, indexes and flags).
      return `x = v[i++]; const f${k} = x === (x | 0) ? x | 0 : x;`;
    case STRING:
      return `const f${k} = t[v[i++]];`;
    case BOOL:
      return `const f${k} = v[i++] !== 0;`;
    case STRINGS:
      return `n = count(v, i++); const f${k} = []; for (let e = 0; e < n; e++) f${k}[e] = t[v[i++]];`;
    case NUMBERS:
      return `n = count(v, i++); const f${k} = []; for (let e = 0; e < n; e++) f${k}[e] = v[i++];`;
    case OBJECT:
      return `let f${k}; ${nested(`f${k}`)}`;
    case ARRAY:
      return `n = count(v, i++); const f${k} = []; for (let e = 0; e < n; e++) { let o; ${nested('o')} f${k}[e] = o; }`;
    default:
      throw new Error(`netqos: unknown field type ${type} in a record shape`);
  }
}

function compile(keys: string[], types: number[]): Build {
  // The keys are the field names of the native decoders (string literals in native/), never
  // data from the kernel; JSON.stringify quotes them anyway.
  const reads = types.map((type, k) => readField(type, k)).join('\n');
  const fields = keys.map((key, k) => `${JSON.stringify(key)}: f${k}`).join(', ');
  const source = `'use strict';
return function build(v, t) {
  let i = c.at, x = 0, n = 0;
  ${reads}
  c.at = i;
  return { ${fields} };
};`;
  return new Function('c', 'at', 'count', source)(cursor, builderAt, countAt) as Build;
}

/**
 * The objects of a native record stream, as arrays (one per reply: `replies` of them);
 * `newShapes`: the keys and types of the shapes numbered since the last call, in order. Called
 * by the addon (registered with setRecordReader when the binding loads).
 */
export function unpackRecords(
  values: Float64Array,
  strings: string,
  replies: number,
  newShapes?: [string[], number[]][],
): Raw[][] {
  if (newShapes) for (const [keys, types] of newShapes) builders[builders.length] = compile(keys, types);
  const text = strings.length ? strings.split('\0') : [];
  const out: Raw[][] = [];
  for (let r = 0; r < replies; r++) out[r] = [];
  let i = 0;
  while (i < values.length) {
    if (values[i] !== SEGMENT || i + 3 > values.length) return malformed(i);
    // The segment's header is SEGMENT, request, length: i + 3 <= values.length, checked above.
    const request = values[i + 1]!;
    const end = i + 3 + values[i + 2]!;
    i += 3;
    if (end > values.length) return malformed(i - 1);
    if (request === DROPPED) {
      i = end;
      continue;
    }
    const list = out[request] ?? malformed(i - 2);
    while (i < end) {
      const build = builderAt(values, i);
      cursor.at = i + 1;
      list[list.length] = build(values, text);
      i = cursor.at;
    }
    if (i !== end) return malformed(i);
  }
  return out;
}
