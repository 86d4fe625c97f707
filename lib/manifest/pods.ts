// Pods in manifest text: YAML or JSON, any number of documents, `kind: List`; bounded (size,
// YAML aliases, nesting) and strict (duplicate keys, annotation values that are not strings), as
// Kubernetes reads them. Pure: the text comes from the caller (read.ts reads files).
import { parseAllDocuments } from 'yaml';
import { ManifestError } from './errors';
import { MAX_MANIFEST_BYTES } from './read';

/** YAML aliases a manifest may expand (an alias bomb expands billions). */
export const MAX_YAML_ALIASES = 100;

/** A Pod's metadata.annotations: keys to string values. */
export type Annotations = Record<string, string>;

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
    throw new ManifestError(`${source}: the manifest is over ${MAX_MANIFEST_BYTES} bytes`);
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    // The parser's own limits (nesting deep enough to exhaust the stack).
    throw new ManifestError(`${source}: cannot parse the manifest: ${(e as Error).message}`);
  }
  // parseAllDocuments returns an EmptyStream (an array) for empty input.
  const list = Array.isArray(docs) ? docs : [docs];
  const problems: string[] = [];
  const objects: { value: unknown; where: string }[] = [];
  list.forEach((doc, i) => {
    const docWhere = list.length > 1 ? `document ${i + 1}: ` : '';
    if (doc.errors.length) {
      for (const err of doc.errors) {
        const [firstLine = ''] = err.message.split('\n');
        problems.push(`${source}: ${docWhere}${firstLine.replace(/:\s*$/, '')}`);
      }
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
  if (problems.length) throw new ManifestError(problems);
  return { pods, skipped };
}

const podLabel = (p: ManifestPod) =>
  `${p.namespace ? `${p.namespace}/` : ''}${p.name || '(unnamed)'} in ${p.source}`;

/**
 * The annotations of exactly one Pod across all the manifests. No Pod, or more than one, is an
 * error naming what was found.
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
      if (!(e instanceof ManifestError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length) throw new ManifestError(problems);
  const sources = manifests.map((m) => m.source).join(', ');
  const [pod] = pods;
  if (!pod) {
    const seen = skipped.length ? ` (found: ${[...new Set(skipped)].join(', ')})` : '';
    throw new ManifestError(
      `${sources}: no Pod found${seen}; netqos reads metadata.annotations of a Pod (kind: Pod)`,
    );
  }
  if (pods.length > 1) {
    throw new ManifestError(
      `${pods.length} Pods found (${pods.map(podLabel).join('; ')}); give manifests that hold exactly one Pod`,
    );
  }
  return pod;
}
