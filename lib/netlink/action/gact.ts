import type { ActionCommon, Control } from '../types';

/** Generic action: a verdict ('drop', 'ok', 'pipe', 'goto chain 1', ...). */
export interface GactAction extends ActionCommon {
  kind: 'gact';
  control: Control;
}
