// Orphan IFBs: IFBs netqos made whose interface is gone. Only netqos's own are candidates: a
// link of another kind merely named like one (a veth: deleting it destroys its peer) is never
// touched.
import type { ApplyResult, LinkState, Operation } from '../netlink';
import { NETQOS_DOOMED_GROUP, ifbNameFor, isOwnIfb, isValidInterfaceName } from '../qos';

/** netqos's IFBs among `links` whose interface (the link ifbNameFor maps to them) is not there. */
export function orphanIfbs(links: Iterable<LinkState>): LinkState[] {
  const all = [...links];
  const parents = new Set<string>();
  for (const l of all) if (!isOwnIfb(l) && isValidInterfaceName(l.name)) parents.add(ifbNameFor(l.name));
  return all.filter((l) => isOwnIfb(l) && !parents.has(l.name));
}

/**
 * Deletes these IFBs together (moved into netqos's doomed group, then the group deleted: one RCU
 * wait for all). By index, not name: a link created under the same name since the read (a pod
 * recreated at once) is a different link and stays.
 */
export function orphanDeletion(orphans: readonly Pick<LinkState, 'index'>[]): Operation[] {
  if (!orphans.length) return [];
  return [
    ...orphans.map((l): Operation => ({
      op: 'change',
      link: { index: l.index, group: NETQOS_DOOMED_GROUP },
    })),
    { op: 'delete', link: { group: NETQOS_DOOMED_GROUP } },
  ];
}

/** What the kernel answered to orphanDeletion(orphans), sent with throwOnFailure: false. */
export interface OrphanDeletionResult {
  /** The IFBs deleted (none when the group delete, the last operation, failed). */
  deleted: string[];
  /** Operations that succeeded. */
  sent: number;
  /** Failures other than "gone already" (ENODEV, ENOENT: another agent, a human), as text. */
  failures: string[];
}

export function orphanDeletionResult(
  orphans: readonly Pick<LinkState, 'name'>[],
  r: Pick<ApplyResult, 'count' | 'failures'>,
): OrphanDeletionResult {
  const failed = new Set(r.failures.map((f) => f.index));
  return {
    deleted: failed.has(orphans.length) ? [] : orphans.filter((_, i) => !failed.has(i)).map((l) => l.name),
    sent: r.count - r.failures.length,
    failures: r.failures
      .filter((f) => f.code !== 'ENODEV' && f.code !== 'ENOENT')
      .map((f) => `${f.code} ${f.message || f.description}`),
  };
}
