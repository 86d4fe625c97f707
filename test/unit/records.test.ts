// lib/netlink/records.ts: the objects of a native record stream (native/records.h), built from
// hand-made streams: segments of several replies (and a dropped one), nested objects, arrays
// of objects and of strings, every kind of value, shapes told once and used again.
import { unpackRecords } from '../../lib/netlink/records';

// native/records.h RecordTag
const [NUMBER, STRING, TRUE, FALSE, STRINGS, OBJECT, END, ARRAY, ARRAY_END, SEGMENT] = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
];
const DROPPED = 0xffffffff;

/** A segment of reply `request` holding `body`. */
const segment = (request: number, body: number[]) => [SEGMENT, request, body.length, ...body];
const strings = (...s: string[]) => s.join('\0') + '\0';

// Shapes are numbered per process: this file's start where the module's list is (empty).
const shapes = [
  ['type', 'index', 'name', 'up'], // 0
  ['kind', 'dev', 'keys', 'actions'], // 1
  ['value', 'offset'], // 2
  ['kind', 'cookie', 'stats'], // 3
  ['bytes', 'packets'], // 4
];

test('objects by reply, in order; a dropped segment is skipped; shapes compiled once and reused', () => {
  const text = strings('link', 'v0', 'v1', 'u32', 'mirred', '6e7100aa', 'gone');
  const link = (index: number, name: number, up: boolean) => [
    OBJECT,
    STRING,
    0,
    NUMBER,
    index,
    STRING,
    name,
    up ? TRUE : FALSE,
    END,
    0,
  ];
  const filter = [
    OBJECT,
    STRING,
    3,
    NUMBER,
    -7,
    ARRAY,
    OBJECT,
    NUMBER,
    0xffffffff,
    NUMBER,
    -4,
    END,
    2,
    OBJECT,
    NUMBER,
    1.5,
    NUMBER,
    0,
    END,
    2,
    ARRAY_END,
    ARRAY,
    OBJECT,
    STRING,
    4,
    STRING,
    5,
    OBJECT,
    NUMBER,
    2 ** 40,
    NUMBER,
    3,
    END,
    4,
    END,
    3,
    ARRAY_END,
    END,
    1,
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
  expect(Object.keys(out[0][0])).toEqual(shapes[0]);
  // The same shape numbers again, no new shapes told: the compiled builders are reused.
  expect(unpackRecords(new Float64Array(segment(1, link(4, 2, false))), text, 2)).toEqual([
    [],
    [{ type: 'link', index: 4, name: 'v1', up: false }],
  ]);
});

test('lists of strings; an empty stream; a malformed one is an error, never a wrong object', () => {
  unpackRecords(new Float64Array(), '', 0, []); // nothing new
  const next = unpackRecords(
    new Float64Array(segment(0, [OBJECT, STRINGS, 2, 1, 0, STRINGS, 0, END, 5])),
    strings('b', 'a'),
    1,
    [['names', 'none']],
  );
  expect(next).toEqual([[{ names: ['a', 'b'], none: [] }]]);
  expect(unpackRecords(new Float64Array(), '', 2)).toEqual([[], []]);
  expect(() => unpackRecords(new Float64Array([OBJECT, END, 0]), '', 1)).toThrow(/malformed record stream/);
  expect(() => unpackRecords(new Float64Array(segment(0, [42])), '', 1)).toThrow(/malformed record stream/);
  expect(() => unpackRecords(new Float64Array(segment(0, [END, 0])), '', 1)).toThrow(/malformed/);
  expect(() => unpackRecords(new Float64Array(segment(0, [OBJECT, END, 999])), '', 1)).toThrow(/malformed/);
  expect(() => unpackRecords(new Float64Array(segment(0, [ARRAY_END])), '', 1)).toThrow(/malformed/);
});
