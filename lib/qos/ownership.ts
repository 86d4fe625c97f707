// What netqos owns, judged by kind + name + mark (never by name alone): its IFBs are links of kind
// ifb, named by ifbNameFor, in netqos's interface group; its TBFs carry handle 4e51:; its filters'
// actions carry the 6e7173 cookies (state.ts). Everything else belongs to someone else and is
// never changed, replaced or deleted.
import type { LinkState } from '../netlink';
import { isNetqosIfbName } from './naming';
import { NETQOS_DOOMED_GROUP, NETQOS_IFB_GROUP } from './policy';

/**
 * True when `link` is an IFB netqos made: kind ifb, an IFB name netqos produces, and netqos's
 * interface group (or the group its deletions pass through). A veth, a dummy or another tool's
 * IFB that happens to carry such a name is not netqos's: orphan collection must leave it alone,
 * and applying QoS to the interface whose IFB name it squats is a conflict.
 */
export function isOwnIfb(link: Pick<LinkState, 'name' | 'kind' | 'group'> | undefined): boolean {
  return (
    !!link &&
    link.kind === 'ifb' &&
    isNetqosIfbName(link.name) &&
    (link.group === NETQOS_IFB_GROUP || link.group === NETQOS_DOOMED_GROUP)
  );
}

/** "veth", "ifb in group 0", for messages about a link that is not netqos's. */
export function describeForeignLink(link: Pick<LinkState, 'name' | 'kind' | 'group'>): string {
  const kind = link.kind ?? 'unknown kind';
  return link.kind === 'ifb' ? `an ifb outside netqos's group (group ${link.group ?? 0})` : `a ${kind} link`;
}
