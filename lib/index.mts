// The ES module entry (package.json "exports" → "import"): the CommonJS build's exports, the
// same instances (Node reads their names from index.js), and the whole of it as the default
// export, as Node gives for any CommonJS module. test/unit/esm.test.ts checks that every name
// arrives.
// @ts-expect-error -- TypeScript sees index.ts's ES exports (no default); Node, and a consumer's
// TypeScript reading index.d.ts, see a CommonJS module whose default is module.exports.
import netqos from './index.js';

export * from './index.js';
export default netqos;
