// The package as an ES module: `import ... from 'netqos'` through package.json's "exports" (the
// package resolving its own name) reaches dist/lib/index.mjs, which carries every name the
// CommonJS entry exports, as the same objects. Runs test/esm/import.mjs with Node on the built
// dist/ (`npx tsc -p tsconfig.json`).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/**
 * The package's public face (README, "Library"), name by name: a name added to lib/index.ts or
 * taken away is a decision, made here too. Internals are imported from their modules.
 */
const PUBLIC = [
  // errors
  'NetqosError',
  'NetqosArgumentError',
  'NativeEngineMissingError',
  // tc over rtnetlink
  'openNetlink',
  'NetlinkHandle',
  'NetlinkError',
  'TcMirror',
  'describeOperation',
  'describeObject',
  'parseRate',
  'parseSize',
  'parseTime',
  'formatRate',
  'formatSize',
  // nf_tables
  'openNftables',
  'NftablesHandle',
  'NftablesError',
  'describeNft',
  'nftRules',
  'canonicalExpression',
  'dataHex',
  'sameExpressions',
  // pod QoS
  'applyQos',
  'applyQosSync',
  'planQos',
  'planQosSync',
  'clearQos',
  'clearQosSync',
  'readQos',
  'readQosSync',
  'parseQosAnnotations',
  'describeQosOperation',
  'formatStatusTable',
  'AnnotationError',
  'QosArgumentError',
  'QosBusyError',
  'QosConflictError',
  'QosDataplaneError',
  'QuantityError',
  'DscpError',
  'parseQuantity',
  'parseDscp',
  'dscpName',
  'calicoInterfaceName',
  'ifbNameFor',
  'isOwnIfb',
];

test('import from an ES module: the public names, every one, the same instances', () => {
  const entry = path.join(ROOT, 'dist/lib/index.mjs');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: build with npx tsc -p tsconfig.json`);
  const out = JSON.parse(
    execFileSync(process.execPath, [path.join(ROOT, 'test/esm/import.mjs')], { cwd: ROOT, encoding: 'utf8' }),
  );
  expect(out.resolved).toBe(`file://${entry}`);
  expect(out.cjs).toEqual([...PUBLIC].sort());
  expect(out.esm).toEqual(out.cjs);
  expect(out.defaultIsCjs).toBe(true);
  expect(out.sameInstances).toBe(true);
  expect(out.version).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
});

test('require() of the package name reaches the CommonJS entry', () => {
  const out = execFileSync(process.execPath, ['-p', "require.resolve('netqos')"], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(out.trim()).toBe(path.join(ROOT, 'dist/lib/index.js'));
});
