import type { ActionCommon, Control } from '../types';

/** Set packet metadata: priority (a class, 'MAJ:MIN' or number), mark, queue, ... */
export interface SkbeditAction extends ActionCommon {
  kind: 'skbedit';
  priority?: number | string;
  mark?: number;
  mask?: number;
  queueMapping?: number;
  ptype?: number;
  /** Take the priority from the packet's DS field. */
  inheritDsfield?: boolean;
  /** Default 'pipe' (tc's). */
  control?: Control;
}
