import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control } from '../types';

/** Generic action: a verdict ('drop', 'ok', 'pipe', 'goto chain 1', ...). */
export interface GactAction extends ActionCommon {
  kind: 'gact';
  control: Control;
}

export const gact: ActionKind<GactAction> = {
  family: 'action',
  kind: 'gact',
  fields: ownFields<GactAction, ActionCommon>()('control'),
  describe: (a) => `gact ${a.control}`,
};
