// netqos: Linux traffic control over rtnetlink, and Calico-style pod QoS on top of it.
export * from './netlink';
export * from './nftables';
export * from './qos';
export { NetqosError, NetqosArgumentError, NativeEngineMissingError } from './errors';
