// The manifest module's one error: every problem found in a set of manifests, one line each,
// naming the file (and the document or item) it is in.
import { NetqosError } from '../errors';

/** Problems with Pod manifests: unreadable, too large, not YAML, not Pods, bad annotations. */
export class ManifestError extends NetqosError {
  readonly code = 'ERR_NETQOS_MANIFEST';
  /** One line per problem, each starting with the manifest's name. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(list.join('\n'));
    this.name = 'ManifestError';
    this.problems = list;
  }
}
