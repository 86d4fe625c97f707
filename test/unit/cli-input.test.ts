// The CLI's input: -a KEY=VALUE arguments and Pod manifests (read by lib/manifest, tested in
// manifest.test.ts), merged into one annotation map; a problem is an InputError or a
// ManifestError (exit code 2).
import { collectAnnotations, InputError, parseAnnotationArg, parseAnnotationArgs } from '../../lib/cli/input';
import { ManifestError } from '../../lib/manifest';

const IN = 'qos.projectcalico.org/ingressBandwidth';
const OUT = 'qos.projectcalico.org/egressBandwidth';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError || e instanceof ManifestError) return [...e.problems];
    throw e;
  }
  throw new Error('expected an InputError or a ManifestError');
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

  test('a key is quoted in errors by its first 64 characters only', () => {
    const [q] = problems(() => parseAnnotationArgs([`${'k'.repeat(100)} x=1`]));
    expect(q).toContain(`"${'k'.repeat(64)}"... (`);
  });
});

describe('collectAnnotations', () => {
  const files: Record<string, string> = {
    'pod.yaml': `kind: Pod\nmetadata:\n  name: p\n  annotations:\n    ${IN}: "10M"\n    ${OUT}: "10M"\n    other.example.com/x: "y"\n`,
  };
  const read = (f: string) => {
    if (f in files) return files[f];
    throw new ManifestError(`${f}: cannot read the manifest: no such file`);
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
});

test('a manifest read but wrong is a ManifestError', () => {
  const read = () => 'kind: Service\n';
  expect(() => collectAnnotations({ file: ['svc.yaml'] }, read)).toThrow(ManifestError);
});
