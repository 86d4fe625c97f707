// lib/netlink/records.ts: the objects of a native record stream (native/records.h), built from
// hand-made streams: segments of several replies (and a dropped one), nested objects, arrays
// of objects and of strings, every type of value, shapes told once and used again.
import { unpackRecords } from '../../lib/netlink/records';

// native/records.h FieldType, kSegment, RecordStream::kDropped
const [NUMBER, STRING, BOOL, STRINGS, OBJECT, ARRAY] = [0, 1, 2, 3, 4, 5];
const SEGMENT = 10;
const DROPPED = 0xffffffff;

/** A segment of reply `request` holding `body`. */
const segment = (request: number, body: number[]) => [SEGMENT, request, body.length, ...body];
const strings = (...s: string[]) => s.join('\0') + '\0';

// Shapes are numbered per process: this file's start where the module's list is (empty).
const shapes: [string[], number[]][] = [
  [
    ['type', 'index', 'name', 'up'],
    [STRING, NUMBER, STRING, BOOL],
  ], // 0
  [
    ['kind', 'dev', 'keys', 'actions'],
    [STRING, NUMBER, ARRAY, ARRAY],
  ], // 1
  [
    ['value', 'offset'],
    [NUMBER, NUMBER],
  ], // 2
  [
    ['kind', 'cookie', 'stats'],
    [STRING, STRING, OBJECT],
  ], // 3
  [
    ['bytes', 'packets'],
    [NUMBER, NUMBER],
  ], // 4
];

test('objects by reply, in order; a dropped segment is skipped; shapes compiled once and reused', () => {
  const text = strings('link', 'v0', 'v1', 'u32', 'mirred', '6e7100aa', 'gone');
  const link = (index: number, name: number, up: boolean) => [0, 0, index, name, up ? 1 : 0];
  // prettier-ignore
  const filter = [
    1, 3, -7,
    2, /* keys */ 2, 0xffffffff, -4, /* */ 2, 1.5, 0,
    1, /* actions */ 3, 4, 5, /* stats */ 4, 2 ** 40, 3,
  ];
  const values = new Float64Array([
    ...segment(0, [...link(1, 1, true), ...link(2, 2, false)]),
    ...segment(DROPPED, [...link(9, 6, true)]),
    ...segment(2, filter),
    ...segment(0, link(3, 1, true)),
  ]);
  const out = unpackRecords(values, text, 3, shapes);
  expect(out).toEqual([
    [
      { type: 'link', index: 1, name: 'v0', up: true },
      { type: 'link', index: 2, name: 'v1', up: false },
      { type: 'link', index: 3, name: 'v0', up: true },
    ],
    [],
    [
      {
        kind: 'u32',
        dev: -7,
        keys: [
          { value: 0xffffffff, offset: -4 },
          { value: 1.5, offset: 0 },
        ],
        actions: [{ kind: 'mirred', cookie: '6e7100aa', stats: { bytes: 2 ** 40, packets: 3 } }],
      },
    ],
  ]);
  expect(Object.keys(out[0][0])).toEqual(shapes[0][0]);
  // The same shape numbers again, no new shapes told: the compiled builders are reused.
  expect(unpackRecords(new Float64Array(segment(1, link(4, 2, false))), text, 2)).toEqual([
    [],
    [{ type: 'link', index: 4, name: 'v1', up: false }],
  ]);
});

test('lists of strings; an empty stream; a malformed one is an error, never a wrong object', () => {
  unpackRecords(new Float64Array(), '', 0, []); // nothing new
  const next = unpackRecords(new Float64Array(segment(0, [5, 2, 1, 0, 0])), strings('b', 'a'), 1, [
    [
      ['names', 'none'],
      [STRINGS, STRINGS],
    ],
  ]);
  expect(next).toEqual([[{ names: ['a', 'b'], none: [] }]]);
  expect(unpackRecords(new Float64Array(), '', 2)).toEqual([[], []]);
  const bad =
    (values: number[], replies = 1) =>
    () =>
      unpackRecords(new Float64Array(values), 'a\0', replies);
  expect(bad([0, 0, 1, 0, 1])).toThrow(/malformed record stream/); // no segment
  expect(bad(segment(0, [42]))).toThrow(/malformed record stream/); // no such shape
  expect(bad(segment(0, [0, 0]))).toThrow(/malformed/); // values missing
  expect(bad(segment(0, [4, 1, 2, 3]))).toThrow(/malformed/); // values left over
  expect(bad(segment(0, [5, 1e9, 0, 0]))).toThrow(/malformed/); // a list longer than the stream
  expect(bad(segment(0, [1, 0, 0, 1, 999]))).toThrow(/malformed/); // an element of no shape
  expect(bad([SEGMENT, 0, 5, 4, 1, 2])).toThrow(/malformed/); // a segment past the end
  expect(bad(segment(3, [4, 1, 2]))).toThrow(/malformed/); // a reply nobody asked for
});
