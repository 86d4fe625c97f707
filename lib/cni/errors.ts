// CNI error objects: the spec's well-known codes (SPEC.md "Error codes", 1.0 and 1.1) and
// netqos's own (100 and up), and the JSON a plugin prints on standard output when it fails.

/** Well-known codes (0-99 are reserved by the spec). */
export const CNI_CODE = {
  /** The configuration's cniVersion is not one this plugin supports, or the verb needs a newer one. */
  INCOMPATIBLE_VERSION: 1,
  /** A field of the configuration the plugin knows but cannot honour; the message names the key. */
  UNSUPPORTED_FIELD: 2,
  /** The container is unknown or does not exist (the runtime need not clean up). */
  UNKNOWN_CONTAINER: 3,
  /** A required CNI_* variable is missing or invalid (CNI_COMMAND, CNI_NETNS, CNI_IFNAME, ...). */
  INVALID_ENVIRONMENT: 4,
  /** Reading standard input or writing the plugin's records failed. */
  IO_FAILURE: 5,
  /** The configuration is not JSON (or not an object). */
  DECODING_FAILURE: 6,
  /** The configuration is JSON but wrong: missing name or prevResult, bad rates, bad annotations. */
  INVALID_CONFIG: 7,
  /** A transient condition (the kernel said EBUSY/EAGAIN): the runtime may retry. */
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin cannot serve ADD now (1.1). */
  NOT_AVAILABLE: 50,
} as const;

/** netqos's own codes (the spec leaves 100 and up to plugins). */
export const NETQOS_CODE = {
  /** The pod's host-side interface cannot be found: no veth peer, not in this namespace, not in prevResult. */
  INTERFACE: 100,
  /** The kernel refused a change; the batch was rolled back (details: the kernel's words). */
  KERNEL: 101,
  /** The host-side interface carries another tool's qdisc that netqos would have to replace. */
  CONFLICT: 102,
  /** CHECK: the kernel's state differs from the configuration (details: what ADD would change). */
  CHECK_MISMATCH: 103,
  /** Anything unexpected. */
  INTERNAL: 999,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details?: string,
  ) {
    super(details ? `${msg}: ${details}` : msg);
    this.name = 'CniError';
  }

  /** The object printed on standard output: `{ cniVersion, code, msg, details? }`. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.msg, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Anything unexpected: code 999 with the error's own words (never a stack: it is for users). */
export function internalError(e: unknown, what = 'internal error'): CniError {
  const words = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new CniError(NETQOS_CODE.INTERNAL, what, words.length > 1000 ? `${words.slice(0, 1000)}...` : words);
}
