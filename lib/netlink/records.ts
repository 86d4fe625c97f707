// Builds the objects the native engine decoded (native/records.h): one flat array of numbers and
// one table of strings; each object names its shape (its keys, in order), numbered once per
// process. Each shape is built by one function holding an object literal with its keys,
// compiled once: V8 then creates every object of that shape in one allocation with one hidden
// class, many times faster than setting properties one by one through N-API, and smaller.

type Raw = Record<string, unknown>;

// native/records.h RecordTag.
const NUMBER = 1;
const STRING = 2;
const TRUE = 3;
const FALSE = 4;
const STRINGS = 5;
const OBJECT = 6;
const END = 7;
const ARRAY = 8;
const ARRAY_END = 9;
const SEGMENT = 10;
const DROPPED = 0xffffffff;

/** Builds one object from the values at stack[base...], in its keys' order. */
type Build = (stack: unknown[], base: number) => Raw;

/** The builder of each shape, by its number. */
const builders: Build[] = [];

function compile(keys: string[]): Build {
  // The keys are the field names of the native decoders (string literals in native/), never
  // data from the kernel; JSON.stringify quotes them anyway.
  const fields = keys.map((k, i) => `${JSON.stringify(k)}: s[b + ${i}]`).join(', ');
  return new Function('s', 'b', `return { ${fields} };`) as Build;
}

function malformed(at: number): never {
  throw new Error(`netqos: malformed record stream (at value ${at})`);
}

/**
 * The objects of a native record stream, as arrays (one per reply: `replies` of them);
 * `newShapes`: the keys of the shapes numbered since the last call, in order. Called by the
 * addon (registered with setRecordReader when the binding loads).
 */
export function unpackRecords(
  values: Float64Array,
  strings: string,
  replies: number,
  newShapes?: string[][],
): Raw[][] {
  if (newShapes) for (const keys of newShapes) builders.push(compile(keys));
  const shapes = builders;
  const text = strings.length ? strings.split('\0') : [];
  const out: Raw[][] = [];
  for (let r = 0; r < replies; r++) out.push([]);
  // The values of the objects being built, innermost last, up to `top`. Slots above it are
  // overwritten, never cut off: shortening an array makes V8 trim its storage, and the next push
  // allocates it again (that was most of what a read allocated).
  const stack: unknown[] = [];
  let top = 0;
  // Where each open object's or array's values begin.
  const bases: number[] = [];
  let depth = 0;
  let i = 0;
  while (i < values.length) {
    const tag = values[i++];
    if (tag !== SEGMENT) return malformed(i - 1);
    const request = values[i++];
    const end = i + 1 + values[i];
    i++;
    if (request === DROPPED) {
      i = end;
      continue;
    }
    const list = out[request];
    while (i < end) {
      switch (values[i++]) {
        case NUMBER: {
          // As a small integer where it is one: V8 then keeps it in the object itself, instead
          // of a 16-byte number box per field (most fields are counts, indexes and flags).
          const v = values[i++];
          stack[top++] = v === (v | 0) ? v | 0 : v;
          break;
        }
        case STRING:
          stack[top++] = text[values[i++]];
          break;
        case TRUE:
          stack[top++] = true;
          break;
        case FALSE:
          stack[top++] = false;
          break;
        case STRINGS: {
          const n = values[i++];
          const names: string[] = new Array(n);
          for (let k = 0; k < n; k++) names[k] = text[values[i++]];
          stack[top++] = names;
          break;
        }
        case OBJECT:
        case ARRAY:
          bases[depth++] = top;
          break;
        case END: {
          const build = shapes[values[i++]];
          if (depth === 0 || !build) return malformed(i - 2);
          const base = bases[--depth];
          const o = build(stack, base);
          top = base;
          if (depth) stack[top++] = o;
          else list.push(o);
          break;
        }
        case ARRAY_END: {
          if (depth === 0) return malformed(i - 1);
          const base = bases[--depth];
          const a = stack.slice(base, top);
          top = base;
          stack[top++] = a;
          break;
        }
        default:
          return malformed(i - 1);
      }
    }
  }
  return out;
}
