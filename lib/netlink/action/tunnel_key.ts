import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control } from '../types';

/** Set (or release) the metadata a collect-metadata tunnel device encapsulates with (tc-tunnel_key(8)). */
export interface TunnelKeyAction extends ActionCommon {
  kind: 'tunnel_key';
  action: 'set' | 'unset';
  /** Outer source and destination, IPv4 or IPv6 (both required to set). */
  srcIp?: string;
  dstIp?: string;
  /** Tunnel key (VNI). */
  keyId?: number;
  /** Outer UDP destination port. */
  dstPort?: number;
  tos?: number;
  ttl?: number;
  /** Outer UDP checksum; default true. */
  checksum?: boolean;
  /** Default 'pipe'. */
  control?: Control;
}

export const tunnelKey: ActionKind<TunnelKeyAction> = {
  family: 'action',
  kind: 'tunnel_key',
  fields: ownFields<TunnelKeyAction, ActionCommon>()(
    'action',
    'dstIp',
    'srcIp',
    'dstPort',
    'control',
    'keyId',
    'tos',
    'ttl',
    'checksum',
  ),
  describe(a) {
    if (a.action === 'unset') return 'tunnel_key unset';
    const parts = [`tunnel_key set src_ip ${a.srcIp} dst_ip ${a.dstIp}`];
    if (a.keyId !== undefined) parts.push(`id ${a.keyId}`);
    if (a.dstPort !== undefined) parts.push(`dst_port ${a.dstPort}`);
    if (a.checksum === false) parts.push('nocsum');
    return parts.join(' ');
  },
};
