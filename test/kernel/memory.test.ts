// 100,000 operations through the engine in a loop: resident memory stays flat once warm.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { tempNetns } from '../helpers/netns';

test('RSS is flat over 100,000 operations (apply, applySync, dumps, failures)', () => {
  const ns = tempNetns().veth('v0', 'v1');
  const lib = path.resolve(__dirname, '../../dist/lib');
  const script = `
    const { openNetlink } = require(${JSON.stringify(lib)});
    (async () => {
      const nl = openNetlink({ netns: ${JSON.stringify(ns.name)} });
      const ops = [];
      for (let i = 0; i < 500; i++) ops.push({ op: 'replace', qdisc: { dev: i % 2 ? 'v0' : 'v1', parent: 'root', handle: '1:', kind: 'tbf', rate: 1e6 + i * 8, burst: 32768, latencyUs: 25000 } });
      const rss = [];
      for (let round = 0; round < 200; round++) {
        if (round % 2) await nl.apply(ops); else nl.applySync(ops);
        await nl.dump({ type: 'qdisc' });
        await nl.apply([{ op: 'add', qdisc: { dev: 'nosuch', kind: 'ingress' } }]).catch(() => {});
        if (round % 20 === 19) { global.gc(); rss.push(process.memoryUsage().rss); }
      }
      nl.close();
      console.log(JSON.stringify({ rss, messages: 200 * 501 }));
    })();`;
  const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }));
  expect(out.messages).toBeGreaterThanOrEqual(100_000);
  const warm = out.rss[1];
  const last = out.rss[out.rss.length - 1];
  // Flat: growth after warm-up under 4 MiB (a leak of even 40 bytes per operation would show 4 MB).
  expect(last - warm).toBeLessThan(4 * 1024 * 1024);
});
