// One base for every netqos error (lib/errors.ts): each has a stable `code` and is a NetqosError;
// a refused argument stays a TypeError (the engine's own too) and still counts as a NetqosError.
import {
  AnnotationError,
  NativeEngineMissingError,
  NetlinkError,
  NetqosArgumentError,
  NetqosError,
  NftablesError,
  QosArgumentError,
  QosBusyError,
  QosConflictError,
  parseDscp,
  parseQosAnnotations,
  parseQuantity,
} from '../../lib';
import { InputError } from '../../lib/cli/input';
import { ProtocolError } from '../../lib/cni/protocol';
import { ManifestError } from '../../lib/manifest';
import { native } from '../../lib/netlink/binding';
import { TbfValuesError, calicoTbf } from '../../lib/qos/tbf-values';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

test('every error class: a NetqosError with its stable code and its own name', () => {
  const cases: [Error, string][] = [
    [new NetlinkError('x', { errno: 2, code: 'ENOENT' }), 'ENOENT'],
    [new NftablesError('x', { errno: 1, code: 'EPERM' }), 'EPERM'],
    [new AnnotationError([]), 'ERR_NETQOS_ANNOTATION'],
    [new QosConflictError('cali0', 'x'), 'ERR_NETQOS_CONFLICT'],
    [new QosBusyError('cali0', 'x'), 'ERR_NETQOS_BUSY'],
    [new ManifestError('x'), 'ERR_NETQOS_MANIFEST'],
    [new InputError('x'), 'ERR_NETQOS_USAGE'],
    [new ProtocolError('x'), 'ERR_NETQOS_CNI_PROTOCOL'],
    [new TbfValuesError('x'), 'ERR_NETQOS_TBF_VALUES'],
    [new NativeEngineMissingError('x', []), 'ERR_NETQOS_ENGINE_MISSING'],
    [thrown(() => parseDscp('XX')) as Error, 'ERR_NETQOS_DSCP'],
    [thrown(() => parseQuantity('ten')) as Error, 'ERR_NETQOS_QUANTITY'],
    [thrown(() => calicoTbf({ rate: -1 } as never)) as Error, 'ERR_NETQOS_TBF_VALUES'],
  ];
  for (const [e, code] of cases) {
    expect(e).toBeInstanceOf(NetqosError);
    expect(e).toBeInstanceOf(Error);
    expect([e.name, (e as NetqosError).code]).toEqual([e.constructor.name, code]);
  }
});

test('a refused argument: a TypeError and a NetqosError, from TypeScript and from the engine', () => {
  const fromQos = thrown(() => parseQosAnnotations('qos' as never));
  const fromEngine = thrown(() =>
    native().encode([{ op: 'add', qdisc: { dev: 'x', kind: 'tbf', rate: -5 } }]),
  );
  // The engine's TypeError is of the main realm, not of this test's sandbox.
  expect((fromEngine as Error).constructor.name).toBe('TypeError');
  expect(fromQos).toBeInstanceOf(TypeError);
  for (const e of [fromQos, fromEngine, new NetqosArgumentError('x')]) {
    expect(e).toBeInstanceOf(NetqosError);
    expect((e as NetqosError).code).toBe('ERR_NETQOS_INVALID_ARGUMENT');
  }
  expect(fromQos).toBeInstanceOf(QosArgumentError);
  expect(fromQos).toBeInstanceOf(NetqosArgumentError);
});

test("instanceof stays exact for everything else: others' errors, and the subclasses", () => {
  expect(new TypeError('x')).not.toBeInstanceOf(NetqosError);
  expect(Object.assign(new TypeError('x'), { code: 'ERR_INVALID_ARG_TYPE' })).not.toBeInstanceOf(NetqosError);
  expect({ code: 'ERR_NETQOS_INVALID_ARGUMENT' }).not.toBeInstanceOf(NetqosError);
  expect(new NetqosArgumentError('x')).not.toBeInstanceOf(AnnotationError);
  expect(new QosConflictError('a', 'x')).not.toBeInstanceOf(NetlinkError);
  expect(new NftablesError('x', { errno: 1, code: 'EPERM' })).toBeInstanceOf(NetlinkError);
  expect(null).not.toBeInstanceOf(NetqosError);
  expect(thrown(() => parseQuantity('ten'))).not.toBeInstanceOf(AnnotationError);
});
