import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control } from '../types';
import { bpfProgramText, type BpfProgram } from '../filter/bpf';

/** Run a BPF program on the packet; its return value is the verdict (tc-bpf(8)). */
export interface BpfAction extends ActionCommon {
  kind: 'bpf';
  program: BpfProgram;
  /** The program's name as tc shows it (default for a pinned program: "FILE:[*fsobj]", as tc). */
  name?: string;
  /** Default 'pipe'. */
  control?: Control;
}

export const bpfAction: ActionKind<BpfAction> = {
  family: 'action',
  kind: 'bpf',
  fields: ownFields<BpfAction, ActionCommon>()('program', 'name', 'control'),
  describe: (a) => `bpf ${bpfProgramText(a.program, a.name)}`,
};
