// The CNI spec versions netqos speaks, in a module of its own so VERSION loads nothing else.
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';
export const ABOUT =
  'CNI plugin netqos: pod bandwidth (the reference "bandwidth" plugin\'s configuration) and Calico QoS annotations';
