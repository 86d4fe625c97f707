// What the CLI reads from the user: `-a KEY=VALUE` annotations and Pod manifests (`-f`), merged
// into one annotation map. Everything here is pure (file reading aside) and throws InputError,
// which the CLI reports with exit code 2.
import * as fs from 'fs';
import { parseAllDocuments } from 'yaml';

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
  if (/\s/.test(key)) throw new InputError(`the key ${JSON.stringify(key)} contains whitespace`);
  return [key, arg.slice(eq + 1)];
}

/** Every `-a`, in order; a later one replaces an earlier one with the same key. */
export function parseAnnotationArgs(args: readonly string[]): Annotations {
  const out: Annotations = {};
  const problems: string[] = [];
  for (const arg of args) {
    try {
      const [key, value] = parseAnnotationArg(arg);
      out[key] = value;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      problems.push(...e.problems.map((p) => `-a ${JSON.stringify(arg)}: ${p}`));
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
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
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
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
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

/** Reads a manifest file; '-' is standard input. */
export function readManifest(file: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.code === 'EISDIR'
            ? 'is a directory'
            : err.message;
    throw new InputError(`${file === '-' ? 'standard input' : file}: cannot read the manifest: ${why}`);
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
