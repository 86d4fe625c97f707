import { NetqosError } from '../errors';
import type { Operation } from './types';

/** Details the native engine or the handle attach to a failure. */
export interface NetlinkErrorDetails {
  /** Positive errno, e.g. 2 for ENOENT. */
  errno: number;
  /** Symbolic errno, e.g. 'ENOENT', 'EPERM', 'EEXIST'. */
  code: string;
  /** The kernel's extended-ack text, when it sent one. */
  kernelMessage?: string;
  /** Position of the failing operation in the batch. */
  index?: number;
  /** The failing operation itself. */
  operation?: Operation;
  /** Every failure of the batch (the first is this error's). */
  failures?: OperationFailure[];
  /** True when an atomic apply undid what the batch had applied. */
  rolledBack?: boolean;
}

export interface OperationFailure {
  index: number;
  errno: number;
  code: string;
  /** The kernel's extended-ack text, or netqos's own (e.g. an interface that does not exist). */
  message: string;
  /** strerror(errno). */
  description: string;
}

/** A kernel or socket failure: `code` is the errno name, `kernelMessage` the kernel's own words. */
export class NetlinkError extends NetqosError {
  readonly errno: number;
  readonly code: string;
  readonly kernelMessage?: string;
  readonly index?: number;
  readonly operation?: Operation;
  readonly failures?: OperationFailure[];
  readonly rolledBack?: boolean;

  constructor(message: string, details: NetlinkErrorDetails) {
    super(message);
    this.name = 'NetlinkError';
    this.errno = details.errno;
    this.code = details.code;
    this.kernelMessage = details.kernelMessage || undefined;
    this.index = details.index;
    this.operation = details.operation;
    this.failures = details.failures;
    this.rolledBack = details.rolledBack;
  }
}
