// What netqos's nftables rules for one interface enforce and have counted, read back: packet
// rates and bursts, the DSCP written, connection limits; packets dropped, re-marked, connections
// reset (the sum over the rules of both IP families).
import type { NftExpr, NftRuleState } from '../nftables';
import type { DirectionStatus, QosStatus } from './qos';
import { podChains, type NftState } from './nft-state';

type Found<T> = Partial<T>;

const exprOf = <K extends NftExpr['kind']>(r: NftRuleState, kind: K) =>
  r.expressions.find((e) => e.kind === kind) as Extract<NftExpr, { kind: K }> | undefined;

const counterOf = (rules: NftRuleState[]) =>
  rules.reduce((n, r) => n + ((exprOf(r, 'counter') as { packets?: number } | undefined)?.packets ?? 0), 0);

function rate(rules: NftRuleState[]): Found<DirectionStatus> {
  const limited = rules.filter((r) => r.comment?.startsWith('rate '));
  const limit = limited.map((r) => exprOf(r, 'limit')).find((l) => l);
  if (!limit) return {};
  return {
    packetRate: limit.rate,
    packetBurst: limit.burst,
    packetRateDrops: counterOf(limited),
    enforcedBy: { packetRate: 'nftables' },
  };
}

function connections(rules: NftRuleState[]): Found<DirectionStatus> {
  const limited = rules.filter((r) => r.comment?.startsWith('connections '));
  const limit = limited.map((r) => exprOf(r, 'connlimit')).find((l) => l);
  if (!limit) return {};
  return {
    maxConnections: limit.count,
    rejectedConnections: counterOf(limited),
    enforcedBy: { maxConnections: 'nftables' },
  };
}

/** The DSCP an `ip dscp set` rule writes: its bitwise xor, the DS field above the ECN bits. */
function dscp(rules: NftRuleState[]): Found<QosStatus['egress']> {
  const marking = rules.filter((r) => r.comment?.startsWith('dscp '));
  const v4 = marking.find((r) => r.comment === 'dscp ip');
  const xor = (v4 && (exprOf(v4, 'bitwise') as { xor?: { hex?: string } } | undefined))?.xor;
  if (!xor?.hex) return {};
  return {
    dscp: (parseInt(xor.hex, 16) >> 2) & 0x3f,
    remarkedPackets: counterOf(marking),
    enforcedBy: { dscp: 'nftables' },
  };
}

const merge = <T extends DirectionStatus>(...parts: Found<T>[]): Found<T> => {
  const out = Object.assign({}, ...parts) as Found<T>;
  const enforcedBy = Object.assign({}, ...parts.map((p) => p.enforcedBy));
  if (Object.keys(enforcedBy).length) out.enforcedBy = enforcedBy;
  return out;
};

/** The interface's nftables controls, per direction (only its current index's chains count). */
export function nftStatus(
  state: NftState,
  ifname: string,
  ifindex: number,
): { ingress: Found<DirectionStatus>; egress: Found<QosStatus['egress']> } {
  const chains = (podChains(state).get(ifname) ?? []).filter((c) => c.ifindex === ifindex);
  const rulesOf = (kind: string) => chains.find((c) => c.kind === kind)?.rules ?? [];
  return {
    ingress: merge(rate(rulesOf('to')), connections(rulesOf('to'))),
    egress: merge<QosStatus['egress']>(
      rate(rulesOf('from')),
      dscp(rulesOf('from')),
      connections(rulesOf('from')),
    ),
  };
}
