import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control } from '../types';

/** Copy the connection's conntrack mark to the packet (tc-connmark(8)). */
export interface ConnmarkAction extends ActionCommon {
  kind: 'connmark';
  /** Conntrack zone; default 0. */
  zone?: number;
  /** Default 'pipe'. */
  control?: Control;
}

export const connmark: ActionKind<ConnmarkAction> = {
  family: 'action',
  kind: 'connmark',
  fields: ownFields<ConnmarkAction, ActionCommon>()('control', 'zone'),
  describe: (a) => `connmark${a.zone ? ` zone ${a.zone}` : ''}`,
};
