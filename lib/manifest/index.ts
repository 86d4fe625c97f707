// Pod manifests, as the CLI (-f), the lab (its example Pods) and the agent (a manifest
// directory) read them. Every problem is a ManifestError (code ERR_NETQOS_MANIFEST).
export { ManifestError } from './errors';
export { MAX_MANIFEST_BYTES, readManifest } from './read';
export {
  MAX_YAML_ALIASES,
  podFromManifests,
  podsFromManifest,
  type Annotations,
  type ManifestPod,
} from './pods';
