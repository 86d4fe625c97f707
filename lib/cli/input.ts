// What the CLI reads from the user: `-a KEY=VALUE` annotations and Pod manifests (`-f`, read by
// lib/manifest), merged into one annotation map. A bad argument is an InputError, a bad manifest
// a ManifestError; the CLI reports either with exit code 2.
import { NetqosError } from '../errors';
import { quoteValue } from '../qos/errors';
import {
  ManifestError,
  podFromManifests,
  readManifest,
  type Annotations,
  type ManifestPod,
} from '../manifest';

/** A usage or input problem (exit code 2): one line per problem. */
export class InputError extends NetqosError {
  readonly code = 'ERR_NETQOS_USAGE';
  readonly problems: readonly string[];

  constructor(problems: string | string[]) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('\n'));
    this.name = 'InputError';
    this.problems = list;
  }
}

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

export interface AnnotationInput {
  /** -a KEY=VALUE, in order. */
  annotation?: readonly string[];
  /** -f files ('-' for standard input). */
  file?: readonly string[];
}

/**
 * The annotations to apply: the Pod's from the manifests (-f), then every -a on top (an -a
 * replaces the manifest's value of the same key). With neither, the map is empty, which removes
 * every netqos object just like `clear`. Unreadable manifests and bad -a are reported together
 * (an InputError); a manifest read but wrong is a ManifestError.
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
      if (!(e instanceof ManifestError)) throw e;
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
