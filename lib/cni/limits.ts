// Bounds on what a CNI invocation may bring, shared by the plugin, the resident server's wire
// format and (as #defines that must match) the native shim. No imports: the shim's tests and
// the protocol read them without loading the plugin.

/** The largest configuration on standard input (Kubernetes caps a pod's annotations at 256 KiB). */
export const MAX_STDIN_BYTES = 4 * 1024 * 1024;
/** The largest value of a CNI_* variable (Linux's own limit for one exec string, MAX_ARG_STRLEN). */
export const MAX_ENV_VALUE_BYTES = 128 * 1024;
/** All of a request's CNI_* variables together, as the shim sends them to the server. */
export const MAX_ENV_BYTES = 256 * 1024;
