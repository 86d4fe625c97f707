// What the CLI reads from the user: `-a KEY=VALUE` annotations and Pod manifests (`-f`), merged
// into one annotation map. Everything here is pure (file reading aside) and throws InputError,
// which the CLI reports with exit code 2.
import * as fs from 'fs';
import { parseAllDocuments } from 'yaml';
import { quoteValue } from '../qos/errors';

/** The largest manifest read: a Pod's YAML is kilobytes; a List of many, still far below this. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** YAML aliases a manifest may expand (an alias bomb expands billions). */
export const MAX_YAML_ALIASES = 100;

/** A usage or input problem (exit code 2): one line per problem. */
export class InputError extends Error {
  readonly problems: readonly string[];

  constructor(problems: string | string[]) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('\n'));
    this.name = 'InputError';
    this.problems = list;
  }
}

export type Annotations = Record<string, string>;

/**
 * One `-a KEY=VALUE`: split at the first '=', so values may contain '='. Surrounding blanks of
 * the key are trimmed; the value is taken as given (the annotation parser judges it). The error
 * says what is wrong without repeating the argument (commander and parseAnnotationArgs add it).
 */
export function parseAnnotationArg(arg: string): [key: string, value: string] {
  const eq = arg.indexOf('=');
  if (eq < 0) {
    throw new InputError('expected KEY=VALUE, e.g. -a qos.projectcalico.org/ingressBandwidth=10M');
  }
  const key = arg.slice(0, eq).trim();
  if (!key) throw new InputError("the key before '=' is empty");
  if (/\s/.test(key)) throw new InputError(`the key ${quoteValue(key)} contains whitespace`);
  return [key, arg.slice(eq + 1)];
}

/** Every `-a`, in order; the same key twice is an error (which one was meant?). */
export function parseAnnotationArgs(args: readonly string[]): Annotations {
  const out: Annotations = {};
  const problems: string[] = [];
  const first = new Map<string, number>();
  for (const [i, arg] of args.entries()) {
    try {
      const [key, value] = parseAnnotationArg(arg);
      const earlier = first.get(key);
      if (earlier !== undefined) {
        problems.push(
          `-a ${quoteValue(arg)}: the key ${quoteValue(key)} is given twice (-a number ${earlier + 1} and ${i + 1}); give each key once`,
        );
        continue;
      }
      first.set(key, i);
      out[key] = value;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      problems.push(...e.problems.map((p) => `-a ${quoteValue(arg)}: ${p}`));
    }
  }
  if (problems.length) throw new InputError(problems);
  return out;
}

/** A Pod found in a manifest: where it came from, its name, its annotations. */
export interface ManifestPod {
  source: string;
  /** metadata.name, or '' when the manifest has none. */
  name: string;
  /** metadata.namespace, when given. */
  namespace?: string;
  annotations: Annotations;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/** A Pod's metadata.annotations, checked as Kubernetes checks them: a map of strings to strings. */
function podAnnotations(
  source: string,
  pod: Record<string, unknown>,
  where: string,
): { annotations: Annotations; problems: string[] } {
  const metadata = pod.metadata;
  const problems: string[] = [];
  const annotations: Annotations = {};
  if (metadata === undefined || metadata === null) return { annotations, problems };
  if (!isObject(metadata))
    return { annotations, problems: [`${source}: ${where}metadata must be a mapping`] };
  const raw = metadata.annotations;
  if (raw === undefined || raw === null) return { annotations, problems };
  if (!isObject(raw))
    return {
      annotations,
      problems: [`${source}: ${where}metadata.annotations must be a mapping of strings to strings`],
    };
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'string') annotations[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') {
      // Kubernetes refuses these too ("cannot unmarshal number into ... of type string").
      problems.push(
        `${source}: ${where}metadata.annotations.${key}: ${JSON.stringify(value)} is a ${typeof value}; annotation values are strings: quote it ("${String(value)}")`,
      );
    } else {
      problems.push(
        `${source}: ${where}metadata.annotations.${key}: annotation values are strings, not ${value === null ? 'null' : Array.isArray(value) ? 'lists' : 'mappings'}`,
      );
    }
  }
  return { annotations, problems };
}

/**
 * The Pods of one manifest text: YAML or JSON (JSON is read as YAML), any number of documents
 * separated by `---`, and `kind: List` (as `kubectl get -o yaml` prints) with its items. Objects
 * of other kinds (Service, Deployment, ...) are skipped; empty documents too.
 */
export function podsFromManifest(source: string, text: string): { pods: ManifestPod[]; skipped: string[] } {
  if (text.length > MAX_MANIFEST_BYTES)
    throw new InputError(`${source}: the manifest is over ${MAX_MANIFEST_BYTES} bytes`);
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    // The parser's own limits (nesting deep enough to exhaust the stack).
    throw new InputError(`${source}: cannot parse the manifest: ${(e as Error).message}`);
  }
  // parseAllDocuments returns an EmptyStream (an array) for empty input.
  const list = Array.isArray(docs) ? docs : [docs];
  const problems: string[] = [];
  const objects: { value: unknown; where: string }[] = [];
  list.forEach((doc, i) => {
    const docWhere = list.length > 1 ? `document ${i + 1}: ` : '';
    if (doc.errors.length) {
      for (const err of doc.errors)
        problems.push(`${source}: ${docWhere}${err.message.split('\n')[0].replace(/:\s*$/, '')}`);
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown;
    } catch (e) {
      // An alias bomb ("Excessive alias count ...") or nesting too deep to build.
      problems.push(`${source}: ${docWhere}${(e as Error).message} (at most ${MAX_YAML_ALIASES} aliases)`);
      return;
    }
    if (value === null || value === undefined) return;
    if (isObject(value) && value.kind === 'List' && Array.isArray(value.items)) {
      value.items.forEach((item, j) => objects.push({ value: item, where: `${docWhere}items[${j}]: ` }));
    } else objects.push({ value, where: docWhere });
  });
  const pods: ManifestPod[] = [];
  const skipped: string[] = [];
  for (const { value, where } of objects) {
    if (!isObject(value)) {
      problems.push(
        `${source}: ${where}expected a Kubernetes object (a mapping with kind and metadata), found ${Array.isArray(value) ? 'a list' : typeof value}`,
      );
      continue;
    }
    if (value.kind !== 'Pod') {
      skipped.push(typeof value.kind === 'string' ? value.kind : '(no kind)');
      continue;
    }
    const metadata = isObject(value.metadata) ? value.metadata : {};
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    const { annotations, problems: p } = podAnnotations(source, value, where);
    problems.push(...p);
    pods.push({
      source,
      name,
      ...(typeof metadata.namespace === 'string' ? { namespace: metadata.namespace } : {}),
      annotations,
    });
  }
  if (problems.length) throw new InputError(problems);
  return { pods, skipped };
}

/**
 * Reads a manifest file; '-' is standard input. At most MAX_MANIFEST_BYTES + 1 bytes are read,
 * from a regular file as from a pipe or a device (/dev/zero never ends): more is an error.
 */
export function readManifest(file: string): string {
  const name = file === '-' ? 'standard input' : file;
  let fd: number | undefined;
  try {
    fd = file === '-' ? 0 : fs.openSync(file, 'r');
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (st.isFile() && st.size > MAX_MANIFEST_BYTES)
      throw new InputError(
        `${name}: the manifest is ${st.size} bytes; at most ${MAX_MANIFEST_BYTES} are read`,
      );
    const buffer = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      let n: number;
      try {
        n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      } catch (e) {
        // Standard input may have been left non-blocking by whoever shares it: wait for data.
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (n === 0) break;
      length += n;
    }
    if (length > MAX_MANIFEST_BYTES)
      throw new InputError(`${name}: the manifest is over ${MAX_MANIFEST_BYTES} bytes (read stopped there)`);
    return buffer.toString('utf8', 0, length);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.code === 'EISDIR'
            ? 'is a directory'
            : err.message;
    throw new InputError(`${name}: cannot read the manifest: ${why}`);
  } finally {
    if (fd !== undefined && fd !== 0) fs.closeSync(fd);
  }
}

const podLabel = (p: ManifestPod) =>
  `${p.namespace ? `${p.namespace}/` : ''}${p.name || '(unnamed)'} in ${p.source}`;

/**
 * The annotations of exactly one Pod across all the manifests. No Pod, or more than one, is an
 * input error naming what was found.
 */
export function podFromManifests(manifests: readonly { source: string; text: string }[]): ManifestPod {
  const pods: ManifestPod[] = [];
  const skipped: string[] = [];
  const problems: string[] = [];
  for (const m of manifests) {
    try {
      const found = podsFromManifest(m.source, m.text);
      pods.push(...found.pods);
      skipped.push(...found.skipped);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length) throw new InputError(problems);
  const sources = manifests.map((m) => m.source).join(', ');
  if (pods.length === 0) {
    const seen = skipped.length ? ` (found: ${[...new Set(skipped)].join(', ')})` : '';
    throw new InputError(
      `${sources}: no Pod found${seen}; netqos reads metadata.annotations of a Pod (kind: Pod)`,
    );
  }
  if (pods.length > 1) {
    throw new InputError(
      `${pods.length} Pods found (${pods.map(podLabel).join('; ')}); give manifests that hold exactly one Pod`,
    );
  }
  return pods[0];
}

export interface AnnotationInput {
  /** -a KEY=VALUE, in order. */
  annotation?: readonly string[];
  /** -f files ('-' for standard input). */
  file?: readonly string[];
}

/**
 * The annotations to apply: the Pod's from the manifests (-f), then every -a on top (an -a
 * replaces the manifest's value of the same key). With neither, the map is empty, which removes
 * every netqos object just like `clear`.
 */
export function collectAnnotations(
  input: AnnotationInput,
  read: (file: string) => string = readManifest,
): { annotations: Annotations; pod?: ManifestPod } {
  const files = input.file ?? [];
  const problems: string[] = [];
  const texts: { source: string; text: string }[] = [];
  for (const file of files) {
    try {
      texts.push({ source: file === '-' ? '<stdin>' : file, text: read(file) });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      problems.push(...e.problems);
    }
  }
  let fromArgs: Annotations = {};
  try {
    fromArgs = parseAnnotationArgs(input.annotation ?? []);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    problems.push(...e.problems);
  }
  if (problems.length) throw new InputError(problems);
  const pod = texts.length ? podFromManifests(texts) : undefined;
  return { annotations: { ...(pod?.annotations ?? {}), ...fromArgs }, ...(pod ? { pod } : {}) };
}
