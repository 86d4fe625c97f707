import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control } from '../types';

/** Stateless IPv4 address translation (tc-nat(8)). */
export interface NatAction extends ActionCommon {
  kind: 'nat';
  /** egress: rewrite sources; ingress: rewrite destinations. */
  direction: 'egress' | 'ingress';
  /** The addresses to rewrite, a prefix ('198.18.0.0/16'; a host reads back without /32). */
  old: string;
  /** What they become (the prefix's host bits are kept). */
  new: string;
  /** Default 'ok' (tc's). */
  control?: Control;
}

export const nat: ActionKind<NatAction> = {
  family: 'action',
  kind: 'nat',
  fields: ownFields<NatAction, ActionCommon>()('control', 'direction', 'old', 'new'),
  describe: (a) => `nat ${a.direction} ${a.old} ${a.new}`,
};
