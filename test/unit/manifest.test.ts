// Pod manifests (lib/manifest): YAML, JSON, several documents, Lists; bounded in size, aliases
// and nesting; every problem is a ManifestError naming the file.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  MAX_MANIFEST_BYTES,
  MAX_YAML_ALIASES,
  ManifestError,
  podFromManifests,
  podsFromManifest,
  readManifest,
} from '../../lib/manifest';

const ROOT = path.resolve(__dirname, '..', '..');
const IN = 'qos.projectcalico.org/ingressBandwidth';
const OUT = 'qos.projectcalico.org/egressBandwidth';
const LAB = { [IN]: '10M', [OUT]: '10M' };

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ManifestError) {
      expect(e.code).toBe('ERR_NETQOS_MANIFEST');
      return [...e.problems];
    }
    throw e;
  }
  throw new Error('expected a ManifestError');
}

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

  test('readManifest: a missing file and a directory are errors naming them', () => {
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

  test('/dev/zero: at most 4 MiB + 1 bytes are read, then an error naming it', () => {
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

  test('a YAML alias bomb: an error naming the file, nothing expanded', () => {
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

  test('nesting deep enough to exhaust the parser: an error naming the file', () => {
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
  });
});
