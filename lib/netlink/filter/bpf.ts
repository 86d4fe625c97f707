import { ownFields, type FilterKind } from '../kind';
import type { FilterCommon, TcHandle } from '../types';

/** One classic BPF instruction (struct sock_filter), as tc's "bytecode" lists them. */
export interface CbpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/**
 * The program of a bpf classifier or action: classic BPF instructions, or an eBPF program by open
 * descriptor, by pinned path (opened when the operation is sent), or by id. Reads back as
 * `{ bytecode }` or `{ id, tag }` (a read-back can be sent again: the id names the same program).
 */
export type BpfProgram =
  { bytecode: CbpfInstruction[] } | { fd: number } | { pinned: string } | { id: number; tag?: string };

/** The bpf classifier (tc-bpf(8)). */
export interface BpfFilter extends FilterCommon {
  kind: 'bpf';
  program: BpfProgram;
  /** The name tc shows (default for a pinned program: "FILE:[*fsobj]", as tc). */
  name?: string;
  /** The program returns a verdict (TC_ACT_*) instead of a class. */
  directAction?: boolean;
  classid?: TcHandle;
  skipHw?: boolean;
  skipSw?: boolean;
}

/** A program, tc style: "cls:[*fsobj] id 97 tag 614b434cd8324ecc", "bytecode (4 instructions)". */
export function bpfProgramText(p: BpfProgram, name?: string): string {
  const what =
    'bytecode' in p
      ? `bytecode (${p.bytecode.length} instruction${p.bytecode.length === 1 ? '' : 's'})`
      : 'pinned' in p
        ? `pinned ${p.pinned}`
        : 'fd' in p
          ? `fd ${p.fd}`
          : `id ${p.id}${p.tag ? ` tag ${p.tag}` : ''}`;
  return name ? `${name} ${what}` : what;
}

export const bpf: FilterKind<BpfFilter> = {
  family: 'filter',
  // Comes back by its program's id: the program lives on while a pin or an open fd holds it.
  restorable: true,
  kind: 'bpf',
  fields: ownFields<BpfFilter, FilterCommon>()(
    'classid',
    'skipHw',
    'skipSw',
    'program',
    'name',
    'directAction',
  ),
  describe: (f) =>
    [
      bpfProgramText(f.program, f.name),
      f.directAction ? 'direct-action' : '',
      f.classid !== undefined ? `classid ${f.classid}` : '',
    ]
      .filter(Boolean)
      .join(' '),
};
