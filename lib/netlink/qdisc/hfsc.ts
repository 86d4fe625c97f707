import { ownFields, type ClassKind, type QdiscKind } from '../kind';
import type { ClassCommon, QdiscCommon } from '../types';
import { formatRate, formatTime } from '../units';

/** Hierarchical fair service curves (tc-hfsc(8)). */
export interface HfscQdisc extends QdiscCommon {
  kind: 'hfsc';
  /** Minor of the class unclassified packets go to: 0x10 for class 1:10 (tc's `default 10`). */
  defaultClass?: number;
}

/** A service curve: m1 bit/s for the first dUs microseconds, then m2 bit/s. */
export interface ServiceCurve {
  m1?: number;
  dUs?: number;
  m2: number;
}

/** One HFSC class: at least one curve; ul needs ls. */
export interface HfscClass extends ClassCommon {
  kind: 'hfsc';
  /** Real-time curve: guaranteed service (leaves). */
  rt?: ServiceCurve;
  /** Link-sharing curve: how spare capacity is shared. */
  ls?: ServiceCurve;
  /** Upper limit on link sharing. */
  ul?: ServiceCurve;
}

/** An HFSC class's extended statistics. */
export interface HfscClassXstats {
  work: number;
  rtwork: number;
  period: number;
  level: number;
}

const curveText = (c: ServiceCurve) =>
  `${c.m1 !== undefined ? `m1 ${formatRate(c.m1)} ` : ''}${c.dUs !== undefined ? `d ${formatTime(c.dUs)} ` : ''}m2 ${formatRate(c.m2)}`;

export const hfsc: QdiscKind<HfscQdisc> = {
  family: 'qdisc',
  kind: 'hfsc',
  fields: ownFields<HfscQdisc, QdiscCommon>()('defaultClass'),
  restorable: true,
  describe: (q) => (q.defaultClass !== undefined ? `default ${q.defaultClass.toString(16)}` : ''),
};

export const hfscClass: ClassKind<HfscClass> = {
  family: 'class',
  kind: 'hfsc',
  fields: ownFields<HfscClass, ClassCommon>()('rt', 'ls', 'ul'),
  describe: (c) =>
    (['rt', 'ls', 'ul'] as const).flatMap((k) => (c[k] ? [`${k} ${curveText(c[k]!)}`] : [])).join(' '),
};
