import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control, Dev } from '../types';

/** Redirect or mirror packets to another interface (the IFB of an egress limit, say). */
export interface MirredAction extends ActionCommon {
  kind: 'mirred';
  dev: Dev;
  /** Default 'egress'. */
  direction?: 'egress' | 'ingress';
  /** Default 'redirect'. */
  mode?: 'redirect' | 'mirror';
  /** Default: 'stolen' for a redirect, 'pipe' for a mirror (tc's defaults). */
  control?: Control;
}

export const mirred: ActionKind<MirredAction> = {
  family: 'action',
  kind: 'mirred',
  fields: ownFields<MirredAction, ActionCommon>()('dev', 'control', 'direction', 'mode'),
  interfaceFields: ['dev'],
  describe: (a) => `mirred ${a.direction ?? 'egress'} ${a.mode ?? 'redirect'} to ${a.dev}`,
};
