import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control } from '../types';

/** Set packet metadata: priority (a class, 'MAJ:MIN' or number; reads back as 'MAJ:MIN'), mark, queue, ... */
export interface SkbeditAction extends ActionCommon {
  kind: 'skbedit';
  priority?: number | string;
  mark?: number;
  mask?: number;
  queueMapping?: number;
  ptype?: number | 'host' | 'broadcast' | 'multicast' | 'otherhost';
  /** Take the priority from the packet's DS field. */
  inheritDsfield?: boolean;
  /** Default 'pipe' (tc's). */
  control?: Control;
}

const classText = (p: number | string) =>
  typeof p === 'number' ? `${(p >>> 16).toString(16)}:${(p & 0xffff).toString(16)}` : p;

export const skbedit: ActionKind<SkbeditAction> = {
  family: 'action',
  kind: 'skbedit',
  fields: ownFields<SkbeditAction, ActionCommon>()(
    'priority',
    'mask',
    'control',
    'mark',
    'queueMapping',
    'ptype',
    'inheritDsfield',
  ),
  describe: (a) =>
    `skbedit${a.priority !== undefined ? ` priority ${classText(a.priority)}` : ''}` +
    `${a.mark !== undefined ? ` mark ${a.mark}` : ''}`,
};
