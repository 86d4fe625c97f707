// The CLI's input: -a KEY=VALUE arguments and Pod manifests (YAML, JSON, several documents,
// Lists), merged into one annotation map; every problem is an InputError (exit code 2).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  InputError,
  MAX_MANIFEST_BYTES,
  MAX_YAML_ALIASES,
  collectAnnotations,
  parseAnnotationArg,
  parseAnnotationArgs,
  podFromManifests,
  podsFromManifest,
  readManifest,
} from '../../lib/cli/input';

const ROOT = path.resolve(__dirname, '..', '..');
const IN = 'qos.projectcalico.org/ingressBandwidth';
const OUT = 'qos.projectcalico.org/egressBandwidth';
const LAB = { [IN]: '10M', [OUT]: '10M' };

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return [...e.problems];
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('-a KEY=VALUE', () => {
  test('splits at the first =, trims the key, keeps the value as given', () => {
    expect(parseAnnotationArg(`${IN}=10M`)).toEqual([IN, '10M']);
    expect(parseAnnotationArg(' a = b=c ')).toEqual(['a', ' b=c ']);
    expect(parseAnnotationArg('k=')).toEqual(['k', '']);
  });

  test('rejects a missing =, an empty key, a key with blanks', () => {
    expect(problems(() => parseAnnotationArg('foo'))).toEqual([
      expect.stringContaining('expected KEY=VALUE'),
    ]);
    expect(problems(() => parseAnnotationArg('=10M'))).toEqual([expect.stringContaining('key before')]);
    expect(problems(() => parseAnnotationArg('a b=1'))).toEqual([expect.stringContaining('whitespace')]);
  });

  test('the same key twice is an error naming both (the plan once showed the first, the kernel got the last)', () => {
    expect(problems(() => parseAnnotationArgs([`${IN}=1M`, `${OUT}=2M`, `${IN}=3M`]))).toEqual([
      `-a "${IN}=3M": the key "${IN}" is given twice (-a number 1 and 3); give each key once`,
    ]);
  });

  test('every bad argument is reported, naming it', () => {
    expect(parseAnnotationArgs([`${IN}=1M`, `${OUT}=2M`])).toEqual({ [IN]: '1M', [OUT]: '2M' });
    expect(parseAnnotationArgs([])).toEqual({});
    const p = problems(() => parseAnnotationArgs(['foo', `${IN}=1M`, '=x']));
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^-a "foo": expected KEY=VALUE/);
    expect(p[1]).toMatch(/^-a "=x": /);
  });
});

describe('Pod manifests', () => {
  test("the shipped lab example: the Pod's two 10M annotations; the Service is skipped", () => {
    const text = fs.readFileSync(path.join(ROOT, 'examples/iperf-server-qos.yaml'), 'utf8');
    const { pods, skipped } = podsFromManifest('server.yaml', text);
    expect(pods).toEqual([{ source: 'server.yaml', name: 'iperf-server-qos', annotations: LAB }]);
    expect(skipped).toEqual(['Service']);
  });

  test('the other examples', () => {
    const read = (f: string) =>
      podFromManifests([{ source: f, text: fs.readFileSync(path.join(ROOT, 'examples', f), 'utf8') }]);
    expect(read('iperf-client-qos.yaml')).toMatchObject({ name: 'iperf-client-qos', annotations: LAB });
    expect(read('pod-dscp-packets.yaml').annotations).toEqual({
      'qos.projectcalico.org/dscp': 'EF',
      'qos.projectcalico.org/egressPacketRate': '1000',
    });
  });

  test('JSON, as kubectl get -o json prints it, and kind: List', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', annotations: LAB } };
    expect(podFromManifests([{ source: 'p.json', text: JSON.stringify(pod, null, 2) }])).toEqual({
      source: 'p.json',
      name: 'p',
      namespace: 'ns',
      annotations: LAB,
    });
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [{ kind: 'Service', metadata: { name: 's' } }, pod],
    };
    expect(podFromManifests([{ source: 'l.json', text: JSON.stringify(list) }]).annotations).toEqual(LAB);
  });

  test('a Pod without annotations has none; empty documents are skipped', () => {
    expect(
      podFromManifests([{ source: 'x', text: '---\n---\nkind: Pod\nmetadata:\n  name: bare\n---\n' }]),
    ).toEqual({ source: 'x', name: 'bare', annotations: {} });
    expect(
      podFromManifests([{ source: 'x', text: 'kind: Pod\nmetadata:\n  annotations:\n' }]).annotations,
    ).toEqual({});
  });

  test('unquoted YAML values that are strings stay strings (10M, EF); numbers are refused as Kubernetes does', () => {
    const ok =
      'kind: Pod\nmetadata:\n  annotations:\n    qos.projectcalico.org/ingressBandwidth: 10M\n    qos.projectcalico.org/dscp: EF\n';
    expect(podFromManifests([{ source: 'x', text: ok }]).annotations).toEqual({
      [IN]: '10M',
      'qos.projectcalico.org/dscp': 'EF',
    });
    const bad =
      'kind: Pod\nmetadata:\n  annotations:\n    qos.projectcalico.org/dscp: 46\n    qos.projectcalico.org/egressPacketRate: 1000\n';
    const p = problems(() => podFromManifests([{ source: 'x', text: bad }]));
    expect(p).toHaveLength(2);
    expect(p[0]).toBe(
      'x: metadata.annotations.qos.projectcalico.org/dscp: 46 is a number; annotation values are strings: quote it ("46")',
    );
    const nested = problems(() =>
      podFromManifests([{ source: 'x', text: 'kind: Pod\nmetadata:\n  annotations:\n    a: {b: c}\n' }]),
    );
    expect(nested).toEqual([expect.stringContaining('annotation values are strings, not mappings')]);
    expect(
      problems(() => podFromManifests([{ source: 'x', text: 'kind: Pod\nmetadata:\n  annotations: [a]\n' }])),
    ).toEqual(['x: metadata.annotations must be a mapping of strings to strings']);
  });

  test('invalid YAML names the file, the document and the line', () => {
    const p = problems(() =>
      podFromManifests([
        { source: 'bad.yaml', text: 'kind: Pod\n---\nkind: Pod\nmetadata:\n  annotations:\n    a: [1\n' },
      ]),
    );
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^bad\.yaml: document 2: .*line \d+, column \d+$/);
    expect(
      problems(() => podFromManifests([{ source: 'dup.yaml', text: 'kind: Pod\nkind: Pod\n' }]))[0],
    ).toMatch(/^dup\.yaml: .*unique/i);
  });

  test('documents that are not objects are errors', () => {
    expect(problems(() => podFromManifests([{ source: 's', text: 'just a string\n' }]))).toEqual([
      's: expected a Kubernetes object (a mapping with kind and metadata), found string',
    ]);
    expect(problems(() => podFromManifests([{ source: 's', text: '- kind: Pod\n' }]))[0]).toContain(
      'found a list',
    );
  });

  test('no Pod at all, or more than one, is an error naming what was found', () => {
    expect(
      problems(() =>
        podFromManifests([{ source: 'svc.yaml', text: 'kind: Service\nmetadata:\n  name: s\n' }]),
      ),
    ).toEqual([
      'svc.yaml: no Pod found (found: Service); netqos reads metadata.annotations of a Pod (kind: Pod)',
    ]);
    expect(problems(() => podFromManifests([{ source: 'e.yaml', text: '' }]))[0]).toMatch(
      /^e\.yaml: no Pod found;/,
    );
    const two = 'kind: Pod\nmetadata:\n  name: a\n---\nkind: Pod\nmetadata:\n  name: b\n  namespace: prod\n';
    expect(problems(() => podFromManifests([{ source: 'two.yaml', text: two }]))).toEqual([
      '2 Pods found (a in two.yaml; prod/b in two.yaml); give manifests that hold exactly one Pod',
    ]);
    // One Pod per file, two files: still two Pods.
    expect(
      problems(() =>
        podFromManifests([
          { source: 'a', text: 'kind: Pod\n' },
          { source: 'b', text: 'kind: Pod\n' },
        ]),
      )[0],
    ).toMatch(/^2 Pods found/);
  });
});

describe('collectAnnotations', () => {
  const files: Record<string, string> = {
    'pod.yaml': `kind: Pod\nmetadata:\n  name: p\n  annotations:\n    ${IN}: "10M"\n    ${OUT}: "10M"\n    other.example.com/x: "y"\n`,
  };
  const read = (f: string) => {
    if (f in files) return files[f];
    throw new InputError(`${f}: cannot read the manifest: no such file`);
  };

  test('the manifest, then -a on top', () => {
    const { annotations, pod } = collectAnnotations(
      { file: ['pod.yaml'], annotation: [`${OUT}=20M`, 'k=v'] },
      read,
    );
    expect(annotations).toEqual({ [IN]: '10M', [OUT]: '20M', 'other.example.com/x': 'y', k: 'v' });
    expect(pod?.name).toBe('p');
  });

  test('-a alone; nothing at all is an empty map', () => {
    expect(collectAnnotations({ annotation: [`${IN}=5M`] }, read)).toEqual({ annotations: { [IN]: '5M' } });
    expect(collectAnnotations({}, read)).toEqual({ annotations: {} });
  });

  test('unreadable files and bad -a are reported together', () => {
    const p = problems(() => collectAnnotations({ file: ['missing.yaml'], annotation: ['nokey'] }, read));
    expect(p).toEqual([
      'missing.yaml: cannot read the manifest: no such file',
      expect.stringMatching(/^-a "nokey": expected KEY=VALUE/),
    ]);
  });

  test('readManifest: a missing file and a directory are input errors', () => {
    expect(problems(() => readManifest(path.join(ROOT, 'no-such-manifest.yaml')))).toEqual([
      expect.stringMatching(/no-such-manifest\.yaml: cannot read the manifest: no such file$/),
    ]);
    expect(problems(() => readManifest(ROOT))).toEqual([expect.stringContaining('is a directory')]);
    expect(readManifest(path.join(ROOT, 'examples/iperf-client-qos.yaml'))).toContain('iperf-client-qos');
  });
});

describe('bounded inputs (a manifest is read and expanded only so far)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-manifest-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('/dev/zero: at most 4 MiB + 1 bytes are read, then an input error naming it', () => {
    expect(problems(() => readManifest('/dev/zero'))).toEqual([
      `/dev/zero: the manifest is over ${MAX_MANIFEST_BYTES} bytes (read stopped there)`,
    ]);
  });

  test('a 50 MB file is refused by its size, without reading it', () => {
    const big = path.join(tmp, 'big.yaml');
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, 50 * 1024 * 1024); // sparse: nothing to read, only a size
    expect(problems(() => readManifest(big))).toEqual([
      `${big}: the manifest is 52428800 bytes; at most ${MAX_MANIFEST_BYTES} are read`,
    ]);
    const exact = path.join(tmp, 'exact.yaml');
    fs.writeFileSync(exact, `kind: Pod\n${'#'.repeat(MAX_MANIFEST_BYTES - 10)}`);
    expect(readManifest(exact)).toHaveLength(MAX_MANIFEST_BYTES);
  });

  test('a YAML alias bomb: an input error naming the file, nothing expanded', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    expect(problems(() => podsFromManifest('bomb.yaml', `kind: Pod\n${lines.join('\n')}\n`))).toEqual([
      `bomb.yaml: Excessive alias count indicates a resource exhaustion attack (at most ${MAX_YAML_ALIASES} aliases)`,
    ]);
  });

  test('nesting deep enough to exhaust the parser: an input error naming the file', () => {
    const p = problems(() => podsFromManifest('deep.yaml', '['.repeat(200_000) + ']'.repeat(200_000)));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^deep\.yaml: /);
  });

  test('an annotation value is quoted in errors by its first 64 characters only', () => {
    const value = 'v'.repeat(1 << 20);
    const [p] = problems(() =>
      podsFromManifest('x.yaml', `kind: Pod\nmetadata:\n  annotations:\n    a: [${value}]\n`),
    );
    expect(p.length).toBeLessThan(200);
    const [q] = problems(() => parseAnnotationArgs([`${'k'.repeat(100)} x=1`]));
    expect(q).toContain(`"${'k'.repeat(64)}"... (`);
  });
});
