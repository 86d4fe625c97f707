// The base of every error netqos raises: a stable `code` to branch on (messages are for people
// and may change). Each layer defines its own errors on it (NetlinkError, AnnotationError,
// ManifestError, ...); this file sits below all of them and imports nothing.

/** Any netqos error: `code` is stable (ERR_NETQOS_..., or an errno name for a kernel refusal). */
export abstract class NetqosError extends Error {
  abstract readonly code: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }

  /**
   * A caller's mistake is a TypeError (NetqosArgumentError, or the engine's own TypeError with
   * the same code), which cannot also extend this class: `instanceof NetqosError` counts it by
   * its code. (By its code and not its class: the engine's errors may come from another realm,
   * such as a test runner's.) Subclasses keep the ordinary test.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === NetqosError && isArgumentError(value);
  }
}

/** An Error of any realm carrying the argument code. */
const isArgumentError = (value: unknown): boolean =>
  Object.prototype.toString.call(value) === '[object Error]' &&
  (value as { code?: unknown }).code === ARGUMENT_ERROR_CODE;

/** The code of every refused argument, from TypeScript and from the engine alike. */
export const ARGUMENT_ERROR_CODE = 'ERR_NETQOS_INVALID_ARGUMENT';

/**
 * A malformed argument (an operation field, an option, a target): a TypeError, raised before
 * anything is read or sent. The message names the field and the value.
 */
export class NetqosArgumentError extends TypeError {
  readonly code = ARGUMENT_ERROR_CODE;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The native engine (netqos.node) cannot be loaded: `tried` lists each path and why. */
export class NativeEngineMissingError extends NetqosError {
  readonly code = 'ERR_NETQOS_ENGINE_MISSING';

  constructor(
    message: string,
    readonly tried: readonly string[],
  ) {
    super(message);
  }
}
