// An ES module using netqos as users write it; test/unit/esm.test.ts runs it with Node. Prints
// what it found as JSON: the names each side exports, and whether both share one instance.
import { createRequire } from 'node:module';
import netqos, { openNetlink, applyQos, NetlinkError } from 'netqos';
import * as namespace from 'netqos';

const require = createRequire(import.meta.url);
const cjs = require('netqos');
const names = (o) =>
  Object.keys(o)
    .filter((k) => k !== 'default' && k !== '__esModule')
    .sort();
console.log(
  JSON.stringify({
    resolved: import.meta.resolve('netqos'),
    esm: names(namespace),
    cjs: names(cjs),
    defaultIsCjs: netqos === cjs,
    sameInstances:
      openNetlink === cjs.openNetlink && applyQos === cjs.applyQos && NetlinkError === cjs.NetlinkError,
    version: createRequire(import.meta.url)('netqos/package.json').version,
  }),
);
