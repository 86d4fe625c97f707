// The QoS layer's own errors beside AnnotationError and QosConflictError, and how any of them
// quotes a value: never more than a short prefix of it (an annotation may be 256 KiB).
import { NetqosArgumentError, NetqosError } from '../errors';

/** Characters of a value an error message quotes at most. */
export const MAX_QUOTED_CHARS = 64;

/**
 * A value for a message: a string JSON-quoted, cut to its first 64 characters with its length
 * after it when longer ("aaaa..." (1048576 characters)); anything else by what it is (5, null,
 * an array, an object).
 */
export function quoteValue(value: unknown): string {
  if (typeof value === 'string') {
    if (value.length <= MAX_QUOTED_CHARS) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, MAX_QUOTED_CHARS))}... (${value.length} characters)`;
  }
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return value instanceof Map ? 'a Map' : 'an object';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  return quoteValue(String(value)).replace(/^"|"$/g, '');
}

/**
 * A malformed argument of a QoS call (a target that is not an object, an ifname that is not an
 * interface name, a netns that is not a string, the same interface twice, options of the wrong
 * type): nothing is read or sent. `field` names it as a path ("targets[2].netns").
 */
export class QosArgumentError extends NetqosArgumentError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'QosArgumentError';
  }
}

/**
 * A blocking (...Sync) call found an interface it would change in the hands of an unfinished
 * Promise call of this process (it cannot wait: that call needs this thread to finish), or a
 * lock held by another process for longer than the wait allows. Nothing was sent; try again.
 */
export class QosBusyError extends NetqosError {
  readonly code = 'ERR_NETQOS_BUSY';

  constructor(
    readonly ifname: string,
    message: string,
  ) {
    super(`${ifname}: ${message}`);
    this.name = 'QosBusyError';
  }
}
