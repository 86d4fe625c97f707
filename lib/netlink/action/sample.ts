import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control } from '../types';

/** Send one packet in `rate` to a psample group, for sFlow-style monitoring (tc-sample(8)). */
export interface SampleAction extends ActionCommon {
  kind: 'sample';
  /** Sample one packet in rate (required for a new sampler). */
  rate?: number;
  /** The psample group (required for a new sampler). */
  group?: number;
  /** Bytes of each sample kept. */
  trunc?: number;
  /** Default 'pipe'. */
  control?: Control;
}

export const sample: ActionKind<SampleAction> = {
  family: 'action',
  kind: 'sample',
  fields: ownFields<SampleAction, ActionCommon>()('rate', 'control', 'group', 'trunc'),
  describe: (a) =>
    `sample rate ${a.rate} group ${a.group}${a.trunc !== undefined ? ` trunc ${a.trunc}` : ''}`,
};
