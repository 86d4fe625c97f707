// The annotations the lab applies: from the example Pod manifests shipped in the repo
// (examples/iperf-server-qos.yaml, examples/iperf-client-qos.yaml), as in the Calico lab's
// tools/03-iperf-server-qos.yaml and tools/04-iperf-client-qos.yaml; built-in ones when a file is
// missing. --rate replaces both bandwidth values.
import * as fs from 'fs';
import * as path from 'path';
import { podFromManifests, readManifest, type Annotations } from '../manifest';
import { parseAnnotations } from '../qos';

export const SERVER_MANIFEST = 'iperf-server-qos.yaml';
export const CLIENT_MANIFEST = 'iperf-client-qos.yaml';
export const INGRESS_BANDWIDTH = 'qos.projectcalico.org/ingressBandwidth';
export const EGRESS_BANDWIDTH = 'qos.projectcalico.org/egressBandwidth';

/** The Calico lab's annotations: 10M each way. */
export const BUILT_IN_ANNOTATIONS: Readonly<Annotations> = Object.freeze({
  [INGRESS_BANDWIDTH]: '10M',
  [EGRESS_BANDWIDTH]: '10M',
});

export interface PodAnnotations {
  /** The manifest's file, or undefined for the built-in annotations. */
  file?: string;
  /** The manifest's metadata.name, when it has one. */
  manifestPod?: string;
  annotations: Annotations;
}

export interface LabAnnotations {
  dir: string;
  server: PodAnnotations;
  client: PodAnnotations;
  /** Things the user should know (a missing file, a --rate override). */
  notes: string[];
  /**
   * The limit a client -> server flow meets: the smaller of the client's egress and the server's
   * ingress bandwidth, bit/s.
   */
  rate: number;
}

/** The repository's examples/ directory, found upwards from this file (lib/lab or dist/lib/lab). */
export function defaultManifestDir(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'netqos') return path.join(dir, 'examples');
    } catch {
      /* keep looking */
    }
    if (path.dirname(dir) === dir) return path.resolve('examples');
  }
}

function loadOne(dir: string, file: string, notes: string[]): PodAnnotations {
  const full = path.join(dir, file);
  if (!fs.existsSync(full)) {
    notes.push(
      `${full} not found: using the built-in annotations (${Object.entries(BUILT_IN_ANNOTATIONS)
        .map(([k, v]) => `${k}: "${v}"`)
        .join(', ')})`,
    );
    return { annotations: { ...BUILT_IN_ANNOTATIONS } };
  }
  const pod = podFromManifests([{ source: full, text: readManifest(full) }]);
  return { file: full, ...(pod.name ? { manifestPod: pod.name } : {}), annotations: pod.annotations };
}

/**
 * Reads both manifests, applies --rate, and validates the result as applyQos will (strict mode),
 * so a bad value stops the lab before it builds anything. Throws ManifestError or AnnotationError.
 */
export function loadLabAnnotations(dir: string, rate?: string): LabAnnotations {
  const notes: string[] = [];
  const server = loadOne(dir, SERVER_MANIFEST, notes);
  const client = loadOne(dir, CLIENT_MANIFEST, notes);
  if (rate !== undefined) {
    for (const p of [server, client])
      Object.assign(p.annotations, { [INGRESS_BANDWIDTH]: rate, [EGRESS_BANDWIDTH]: rate });
    notes.push(`--rate ${rate}: both pods' ${INGRESS_BANDWIDTH} and ${EGRESS_BANDWIDTH} set to "${rate}"`);
  }
  const egress = parseAnnotations(client.annotations).spec.egress.bandwidth;
  const ingress = parseAnnotations(server.annotations).spec.ingress.bandwidth;
  const limits = [egress, ingress].filter((x): x is number => x !== undefined);
  if (!limits.length) {
    throw new Error(
      `the lab needs a bandwidth limit: neither the client's ${EGRESS_BANDWIDTH} nor the server's ${INGRESS_BANDWIDTH} is set (use --rate 10M)`,
    );
  }
  return { dir, server, client, notes, rate: Math.min(...limits) };
}
