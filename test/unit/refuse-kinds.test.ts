// What the new kinds refuse before anything is sent: each mistake a caller can make is a TypeError
// with code ERR_NETQOS_INVALID_ARGUMENT that names the field (its path in the batch), the value
// when there is one, and what is allowed or needed.
import { native } from '../../lib/netlink/binding';

const mbit = 1_000_000;
type Raw = Record<string, unknown>;

const qdisc = (fields: Raw) => ({ op: 'add', qdisc: { dev: 3, parent: 'root', handle: '1:', ...fields } });
const klass = (fields: Raw) => ({ op: 'add', class: { dev: 3, parent: '1:', classid: '1:10', ...fields } });
const filter = (fields: Raw) => ({ op: 'add', filter: { dev: 3, parent: 'ingress', ...fields } });
const action = (a: Raw) => filter({ kind: 'matchall', actions: [a] });
const flower = (fields: Raw) => filter({ kind: 'flower', protocol: 'ip', ...fields });

const Q = 'ops\\[0\\]\\.qdisc';
const C = 'ops\\[0\\]\\.class';
const F = 'ops\\[0\\]\\.filter';
const A = `${F}\\.actions\\[0\\]`;

test.each([
  // Qdiscs
  [
    'htb class ceil below rate',
    klass({ kind: 'htb', rate: 20 * mbit, ceil: 10 * mbit }),
    `${C}\\.ceil: must be at least rate`,
  ],
  [
    'hfsc class parent root',
    klass({ kind: 'hfsc', parent: 'root', ls: { m2: mbit } }),
    `${C}\\.parent: "root" is not allowed for an HFSC class \\(a top-level class names its qdisc, "1:"\\)`,
  ],
  [
    'hfsc class without a curve',
    klass({ kind: 'hfsc' }),
    `${C}: a service curve is required \\(rt, ls or ul\\)`,
  ],
  ['hfsc ul without ls', klass({ kind: 'hfsc', ul: { m2: mbit } }), `${C}\\.ul: needs ls`],
  ['hfsc curve without m2', klass({ kind: 'hfsc', ls: { m1: mbit } }), `${C}\\.ls\\.m2: is required`],
  [
    'sfq divisor not a power of 2',
    qdisc({ kind: 'sfq', divisor: 1000 }),
    `${Q}\\.divisor: must be a power of 2`,
  ],
  ['netem jitter without delay', qdisc({ kind: 'netem', jitterUs: 5 }), `${Q}\\.jitterUs: needs delayUs`],
  [
    'netem percentage above 100',
    qdisc({ kind: 'netem', duplicate: 101 }),
    `${Q}\\.duplicate: 101 is not a percentage \\(0\\.\\.100\\)`,
  ],
  [
    'netem loss without percent',
    qdisc({ kind: 'netem', loss: { correlation: 5 } }),
    `${Q}\\.loss\\.percent: is required`,
  ],
  [
    'netem unknown loss model',
    qdisc({ kind: 'netem', loss: { model: 'burst', p: 1 } }),
    `${Q}\\.loss\\.model: "burst" is not a loss model \\(allowed: random, state, gemodel\\)`,
  ],
  [
    'netem state loss without p13',
    qdisc({ kind: 'netem', loss: { model: 'state', p31: 5 } }),
    `${Q}\\.loss\\.p13: is required`,
  ],
  ['netem reorder without delay', qdisc({ kind: 'netem', reorder: 25 }), `${Q}\\.reorder: needs delayUs`],
  ['netem gap without reorder', qdisc({ kind: 'netem', delayUs: 1000, gap: 5 }), `${Q}\\.gap: needs reorder`],
  ['netem ecn without loss', qdisc({ kind: 'netem', ecn: true }), `${Q}\\.ecn: needs loss`],
  [
    'netem distribution without jitter',
    qdisc({ kind: 'netem', delayUs: 1000, distribution: 'normal' }),
    `${Q}\\.distribution: needs delayUs and jitterUs`,
  ],
  [
    'netem slot max below min',
    qdisc({ kind: 'netem', slot: { minDelayUs: 5000, maxDelayUs: 1000 } }),
    `${Q}\\.slot\\.maxDelayUs: must be at least minDelayUs`,
  ],
  ['cake bandwidth below 8 bit/s', qdisc({ kind: 'cake', bandwidth: 4 }), `${Q}\\.bandwidth: is too low`],
  [
    'cake overhead out of range',
    qdisc({ kind: 'cake', overhead: 300 }),
    `${Q}\\.overhead: 300 is out of range \\(-64\\.\\.256\\)`,
  ],
  [
    'fq maxrate above 32 bits of bytes/s',
    qdisc({ kind: 'fq', maxrate: 40_000 * mbit }),
    `${Q}\\.maxrate: is above what fq keeps`,
  ],
  // Classifiers
  [
    'flower ipProto without ip',
    flower({ protocol: 'all', ipProto: 'tcp' }),
    `${F}\\.ipProto: needs protocol ip or ipv6`,
  ],
  [
    'flower port without tcp/udp/sctp',
    flower({ ipProto: 'icmp', dstPort: 80 }),
    `${F}\\.dstPort: needs ipProto tcp, udp or sctp`,
  ],
  [
    'flower port mask and range together',
    flower({ ipProto: 'tcp', dstPort: 80, dstPortMask: 0xff00, dstPortMax: 90 }),
    `${F}\\.dstPortMask: and dstPortMax are exclusive`,
  ],
  [
    'flower port range upside down',
    flower({ ipProto: 'tcp', dstPort: 90, dstPortMax: 80 }),
    `${F}\\.dstPortMax: must be above dstPort`,
  ],
  [
    'flower bad MAC',
    flower({ dstMac: '02:00:00:00:00' }),
    `${F}\\.dstMac: "02:00:00:00:00:00" is not a MAC address|${F}\\.dstMac: "02:00:00:00:00" is not a MAC address`,
  ],
  [
    'flower vlanId without a VLAN protocol',
    flower({ vlanId: 100 }),
    `${F}\\.vlanId: needs protocol 802\\.1q or 802\\.1ad`,
  ],
  [
    'flower tcpFlags without tcp',
    flower({ ipProto: 'udp', tcpFlags: 2 }),
    `${F}\\.tcpFlags: needs ipProto tcp`,
  ],
  [
    'flower bad ct state',
    flower({ ctState: 'trk' }),
    `${F}\\.ctState: "trk": each state starts with \\+ or -`,
  ],
  ['flower mask without its key', flower({ ipTosMask: 0xfc }), `${F}\\.ipTosMask: needs ipTos`],
  [
    'fw bad indev',
    filter({ kind: 'fw', parent: '1:', indev: 'x'.repeat(16) }),
    `${F}\\.indev: "x{16}" is not an interface name`,
  ],
  ['bpf without a program', filter({ kind: 'bpf' }), `${F}\\.program: is required`],
  [
    'bpf two programs',
    filter({ kind: 'bpf', program: { fd: 3, pinned: '/sys/fs/bpf/x' } }),
    `${F}\\.program: give exactly one of fd, pinned, id or bytecode`,
  ],
  [
    'basic unknown ematch',
    filter({
      kind: 'basic',
      parent: '1:',
      matches: [{ kind: 'u32', align: 'u8', offset: 0, value: 1, op: 'eq', layer: 'network' }],
    }),
    `${F}\\.matches\\[0\\]\\.kind: "u32" is not an ematch netqos knows \\(allowed: cmp\\)`,
  ],
  [
    'basic ematches without a relation',
    filter({
      kind: 'basic',
      parent: '1:',
      matches: [
        { align: 'u8', offset: 9, layer: 'network', op: 'eq', value: 6 },
        { align: 'u8', offset: 9, layer: 'network', op: 'eq', value: 17 },
      ],
    }),
    `${F}\\.matches\\[0\\]\\.relation: is required between ematches`,
  ],
  // Actions
  [
    'vlan without action',
    action({ kind: 'vlan' }),
    `${A}\\.action: is required \\(pop, push, modify, pop_eth or push_eth\\)`,
  ],
  [
    'vlan push without id',
    action({ kind: 'vlan', action: 'push' }),
    `${A}\\.id: is required to push or modify a tag`,
  ],
  [
    'vlan pop with id',
    action({ kind: 'vlan', action: 'pop', id: 5 }),
    `${A}\\.id: applies to push and modify only`,
  ],
  [
    'vlan bad protocol',
    action({ kind: 'vlan', action: 'push', id: 5, protocol: 'ip' }),
    `${A}\\.protocol: "ip" is not a VLAN protocol`,
  ],
  [
    'tunnel_key set without addresses',
    action({ kind: 'tunnel_key', action: 'set', keyId: 1 }),
    `${A}: srcIp and dstIp are required`,
  ],
  [
    'tunnel_key unset with a key',
    action({ kind: 'tunnel_key', action: 'unset', keyId: 1 }),
    `${A}\\.keyId: applies to set only`,
  ],
  ['ct clear with commit', action({ kind: 'ct', clear: true, commit: true }), `${A}\\.clear: stands alone`],
  ['ct force without commit', action({ kind: 'ct', force: true }), `${A}\\.force: needs commit`],
  ['ct mark without commit', action({ kind: 'ct', mark: 1 }), `${A}\\.mark: needs commit`],
  [
    'ct nat type without commit',
    action({ kind: 'ct', nat: { type: 'src', addrMin: '198.18.0.1' } }),
    `${A}\\.nat\\.type: needs commit`,
  ],
  [
    'ct bad nat type',
    action({ kind: 'ct', commit: true, nat: { type: 'masq', addrMin: '198.18.0.1' } }),
    `${A}\\.nat\\.type: "masq" is not a NAT type \\(allowed: src, dst\\)`,
  ],
  ['sample without rate', action({ kind: 'sample', group: 5 }), `${A}\\.rate: is required`],
  [
    'nat without direction',
    action({ kind: 'nat', old: '198.18.0.1', new: '198.18.1.1' }),
    `${A}\\.direction: is required`,
  ],
  // Chains
  [
    'chain template with actions',
    {
      op: 'add',
      chain: {
        dev: 3,
        parent: 'ingress',
        chain: 1,
        template: { kind: 'flower', protocol: 'ip', actions: [{ kind: 'gact', control: 'drop' }] },
      },
    },
    'ops\\[0\\]\\.chain\\.template\\.actions: a template holds keys only',
  ],
  [
    'chain change',
    { op: 'change', chain: { dev: 3, parent: 'ingress', chain: 1 } },
    'ops\\[0\\]\\.chain\\.op: chains support add and delete',
  ],
])('%s', (_what, op, message) => {
  let error: (Error & { code?: string }) | undefined;
  try {
    native().encode([op as never]);
  } catch (e) {
    error = e as Error & { code?: string };
  }
  expect(error?.name).toBe('TypeError'); // the addon's realm: not jest's TypeError
  expect(error!.code).toBe('ERR_NETQOS_INVALID_ARGUMENT');
  expect(error!.message).toMatch(new RegExp(`^(${message})`));
});
