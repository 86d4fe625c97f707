import { DSCP_VALUES, DscpError, dscpName, dscpToPriority, parseDscp, TC_PRIO } from '../../../lib/qos/dscp';

const NAMED: ReadonlyArray<[string, number]> = [
  ['DF', 0],
  ['CS0', 0],
  ['CS1', 8],
  ['CS2', 16],
  ['CS3', 24],
  ['CS4', 32],
  ['CS5', 40],
  ['CS6', 48],
  ['CS7', 56],
  ['AF11', 10],
  ['AF12', 12],
  ['AF13', 14],
  ['AF21', 18],
  ['AF22', 20],
  ['AF23', 22],
  ['AF31', 26],
  ['AF32', 28],
  ['AF33', 30],
  ['AF41', 34],
  ['AF42', 36],
  ['AF43', 38],
  ['EF', 46],
];

describe('parseDscp', () => {
  test.each(NAMED)('%s is %d', (name, value) => {
    expect(parseDscp(name)).toBe(value);
    expect(parseDscp(name.toLowerCase())).toBe(value);
  });

  test('the name table has exactly these names and follows CSn = 8n, AFxy = 8x + 2y', () => {
    expect(Object.keys(DSCP_VALUES).sort()).toEqual(NAMED.map(([name]) => name).sort());
    for (let n = 0; n <= 7; n++) expect(DSCP_VALUES[`CS${n}`]).toBe(8 * n);
    for (let x = 1; x <= 4; x++)
      for (let y = 1; y <= 3; y++) expect(DSCP_VALUES[`AF${x}${y}`]).toBe(8 * x + 2 * y);
  });

  test.each(['ef', 'Ef', 'eF', 'af41', 'Af41', 'aF41', 'cs7', 'Cs3', 'df'])('any case: %s', (name) => {
    expect(parseDscp(name)).toBe(DSCP_VALUES[name.toUpperCase()]);
  });

  test('every decimal number 0..63', () => {
    for (let n = 0; n <= 63; n++) expect(parseDscp(String(n))).toBe(n);
  });

  test('leading zeros are decimal, as strconv.ParseUint(s, 10, 8) reads them', () => {
    expect(parseDscp('007')).toBe(7);
    expect(parseDscp('010')).toBe(10);
    expect(parseDscp('063')).toBe(63);
  });

  test.each(['64', '255', '256', '1000', '99999999999999999999999'])('%s is out of range', (input) => {
    const error = catchDscpError(() => parseDscp(input));
    expect(error.reason).toBe('out-of-range');
    expect(error.input).toBe(input);
    expect(error.message).toContain(`"${input}"`);
    expect(error.message).toContain('0-63');
  });

  test.each([
    '',
    ' ',
    '-1',
    '+5',
    '0x10',
    '4.5',
    '1e1',
    ' 46',
    '46 ',
    ' EF',
    'EF ',
    'AF14',
    'AF51',
    'AF10',
    'CS8',
    'BE',
    'LE',
    'E F',
    'Cſ1',
    'ＥＦ',
  ])('%j is not a DSCP value', (input) => {
    const error = catchDscpError(() => parseDscp(input));
    expect(error.reason).toBe('unknown');
    expect(error.message).toBe(
      `${JSON.stringify(input)} is not a valid DSCP value: use a number 0-63 or a name DF, EF, CS0-CS7, AF11-AF43, in any case`,
    );
  });
});

describe('parseDscp in Calico mode (numorstring.DSCP)', () => {
  test("CS7 is not in Calico's table", () => {
    expect(() => parseDscp('CS7', { calico: true })).toThrow(DscpError);
    expect(() => parseDscp('cs7', { calico: true })).toThrow(DscpError);
    expect(parseDscp('CS6', { calico: true })).toBe(48);
  });

  test('names are trimmed, numbers are not', () => {
    expect(parseDscp(' ef ', { calico: true })).toBe(46);
    expect(parseDscp('\tAF41\n', { calico: true })).toBe(34);
    expect(() => parseDscp(' 46', { calico: true })).toThrow(DscpError);
  });

  test('numbers and the other names behave as in strict parsing', () => {
    for (const [name, value] of NAMED) {
      if (name !== 'CS7') expect(parseDscp(name, { calico: true })).toBe(value);
    }
    expect(parseDscp('63', { calico: true })).toBe(63);
  });

  test("Calico's own messages", () => {
    expect(catchDscpError(() => parseDscp('64', { calico: true })).calicoMessage).toBe(
      'DSCP must be between 0 and 63',
    );
    expect(catchDscpError(() => parseDscp('255', { calico: true })).calicoMessage).toBe(
      'DSCP must be between 0 and 63',
    );
    // ParseUint(…, 8) overflows above 255 and Calico falls through to the name lookup.
    expect(catchDscpError(() => parseDscp('256', { calico: true })).calicoMessage).toBe(
      '256 is not a valid DSCP value',
    );
    expect(catchDscpError(() => parseDscp('XX', { calico: true })).calicoMessage).toBe(
      'XX is not a valid DSCP value',
    );
  });
});

describe('dscpName', () => {
  test.each<[number, string]>([
    [0, 'DF'],
    [8, 'CS1'],
    [16, 'CS2'],
    [24, 'CS3'],
    [32, 'CS4'],
    [40, 'CS5'],
    [48, 'CS6'],
    [56, 'CS7'],
    [10, 'AF11'],
    [12, 'AF12'],
    [14, 'AF13'],
    [18, 'AF21'],
    [22, 'AF23'],
    [26, 'AF31'],
    [34, 'AF41'],
    [38, 'AF43'],
    [46, 'EF'],
  ])('%d is %s', (value, name) => {
    expect(dscpName(value)).toBe(name);
  });

  test('values without a name, and values that are not DSCP', () => {
    for (const value of [1, 2, 7, 9, 11, 42, 44, 47, 50, 58, 63, -1, 64, 1.5, Number.NaN]) {
      expect(dscpName(value)).toBeUndefined();
    }
  });

  test('every name parses back to its value', () => {
    for (let n = 0; n <= 63; n++) {
      const name = dscpName(n);
      if (name !== undefined) expect(parseDscp(name)).toBe(n);
    }
  });

  test('exactly the 21 distinct named values have a name', () => {
    const named = Array.from({ length: 64 }, (_, n) => n).filter((n) => dscpName(n) !== undefined);
    expect(named).toEqual([...new Set(Object.values(DSCP_VALUES))].sort((a, b) => a - b));
  });
});

describe('dscpToPriority (net/ipv4/route.c ip_tos2prio, by the TOS bits)', () => {
  test('the priority follows the low three DSCP bits (the RFC 1349 TOS bits)', () => {
    const byLowBits = [
      TC_PRIO.BESTEFFORT,
      TC_PRIO.BESTEFFORT,
      TC_PRIO.BULK,
      TC_PRIO.BULK,
      TC_PRIO.INTERACTIVE,
      TC_PRIO.INTERACTIVE,
      TC_PRIO.INTERACTIVE_BULK,
      TC_PRIO.INTERACTIVE_BULK,
    ];
    for (let dscp = 0; dscp <= 63; dscp++) expect(dscpToPriority(dscp)).toBe(byLowBits[dscp & 7]);
  });

  test.each<[string, number]>([
    ['DF', 0],
    ['CS1', 0],
    ['CS6', 0],
    ['CS7', 0],
    ['AF11', 2],
    ['AF41', 2],
    ['AF12', 6],
    ['AF42', 6],
    ['AF13', 4],
    ['AF43', 4],
    ['EF', 4],
  ])('%s -> priority %d', (name, priority) => {
    expect(dscpToPriority(DSCP_VALUES[name])).toBe(priority);
  });

  test('TC_PRIO constants match include/uapi/linux/pkt_sched.h', () => {
    expect(TC_PRIO).toEqual({
      BESTEFFORT: 0,
      FILLER: 1,
      BULK: 2,
      INTERACTIVE_BULK: 4,
      INTERACTIVE: 6,
      CONTROL: 7,
    });
  });

  test.each([-1, 64, 1.5, Number.NaN])('%d is refused', (value) => {
    expect(() => dscpToPriority(value)).toThrow(RangeError);
  });
});

function catchDscpError(run: () => unknown): DscpError {
  try {
    run();
  } catch (error) {
    if (error instanceof DscpError) return error;
    throw error;
  }
  throw new Error('expected a DscpError');
}
