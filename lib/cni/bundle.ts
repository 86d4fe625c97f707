/**
 * A one-file bundle of the CNI plugin and a V8 code cache for it: the plugin runs once per pod
 * and verb, and most of a short run is Node loading ~25 modules one file at a time and compiling
 * them cold. `netqos cni-install` writes both next to this file (cni-bundle.js, cni-bundle.cache);
 * main.js runs the bundle when it is there and still matches the compiled files it was made from,
 * and plain require() otherwise.
 *
 * The bundle is the compiled CommonJS modules of this installation, each wrapped in a function
 * with its own file name, directory and a require() that resolves the others inside the bundle
 * and everything else (node: builtins, the addon) as the original file would.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vm from 'vm';
import { createRequire } from 'module';

export const BUNDLE_FILE = 'cni-bundle.js';
export const CACHE_FILE = 'cni-bundle.cache';
const MANIFEST_MARK = '//# netqos-manifest ';

type Manifest = { file: string; size: number; mtimeMs: number }[];

/** The compiled modules `entry` needs, depth first, from `require("./...")` calls. */
function collect(entry: string): string[] {
  const seen = new Set<string>();
  const order: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = fs.readFileSync(file, 'utf8');
    for (const [, , local] of src.matchAll(/\brequire\((["'])(\.{1,2}\/[^"']+)\1\)/g))
      if (local !== undefined) visit(resolveLocal(path.dirname(file), local));
    order.push(file);
  };
  visit(entry);
  return order;
}

function resolveLocal(dir: string, spec: string): string {
  const base = path.resolve(dir, spec);
  for (const candidate of [base, `${base}.js`, path.join(base, 'index.js')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`bundle: cannot resolve ${spec} from ${dir}`);
}

/** The bundle's source: a function of (require of the bundle's own file) returning the entry's exports. */
export function bundleSource(entry: string): { source: string; manifest: Manifest } {
  const files = collect(entry);
  const manifest: Manifest = files.map((file) => {
    const st = fs.statSync(file);
    return { file, size: st.size, mtimeMs: st.mtimeMs };
  });
  const parts = files.map((file) => {
    const src = fs.readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
    return `${JSON.stringify(file)}: function (exports, require, module, __filename, __dirname) {\n${src}\n},`;
  });
  const source = `(function (createRequire) {
"use strict";
const defs = {
${parts.join('\n')}
};
const cache = Object.create(null);
const path = createRequire(${JSON.stringify(entry)})('path');
function load(file) {
  if (cache[file]) return cache[file].exports;
  const module = { exports: {}, filename: file, loaded: false };
  cache[file] = module;
  const dir = path.dirname(file);
  const outside = createRequire(file);
  const req = (spec) => {
    if (spec.startsWith('./') || spec.startsWith('../')) {
      const base = path.resolve(dir, spec);
      for (const f of [base, base + '.js', base + '/index.js']) if (defs[f]) return load(f);
    }
    return outside(spec);
  };
  defs[file].call(module.exports, module.exports, req, module, file, dir);
  module.loaded = true;
  return module.exports;
}
return load(${JSON.stringify(entry)});
})
${MANIFEST_MARK}${JSON.stringify(manifest)}
`;
  return { source, manifest };
}

function compile(source: string, filename: string, cachedData?: Buffer): vm.Script {
  return new vm.Script(source, { filename, cachedData });
}

/**
 * Writes the bundle of `entry` and its code cache into `dir`. The cache is made after loading
 * every module and running `warm` (so the functions a run compiles are in it too).
 */
export function writeBundle(
  entry: string,
  dir: string,
  warm?: (exports: unknown) => void,
): { files: number; bytes: number; cacheBytes: number } {
  const { source, manifest } = bundleSource(entry);
  const bundlePath = path.join(dir, BUNDLE_FILE);
  const script = compile(source, bundlePath);
  const loaded = (script.runInThisContext() as (c: typeof createRequire) => unknown)(createRequire);
  warm?.(loaded);
  const cache = script.createCachedData();
  const tmp = `.${process.pid}.tmp`;
  fs.writeFileSync(bundlePath + tmp, source);
  fs.writeFileSync(path.join(dir, CACHE_FILE) + tmp, cache);
  fs.renameSync(bundlePath + tmp, bundlePath);
  fs.renameSync(path.join(dir, CACHE_FILE) + tmp, path.join(dir, CACHE_FILE));
  return { files: manifest.length, bytes: source.length, cacheBytes: cache.length };
}

/**
 * Loads the bundle in `dir` when it is there and every file it was made from is unchanged;
 * undefined otherwise (the caller then require()s as usual).
 */
export function loadBundle<T>(dir: string): T | undefined {
  let source: string;
  try {
    source = fs.readFileSync(path.join(dir, BUNDLE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const at = source.lastIndexOf(MANIFEST_MARK);
  if (at < 0) return undefined;
  try {
    const manifest = JSON.parse(source.slice(at + MANIFEST_MARK.length)) as Manifest;
    for (const m of manifest) {
      const st = fs.statSync(m.file);
      if (st.size !== m.size || st.mtimeMs !== m.mtimeMs) return undefined;
    }
  } catch {
    return undefined;
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(path.join(dir, CACHE_FILE));
  } catch {
    cachedData = undefined;
  }
  const script = compile(source, path.join(dir, BUNDLE_FILE), cachedData);
  return (script.runInThisContext() as (c: typeof createRequire) => T)(createRequire);
}
