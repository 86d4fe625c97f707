// What ADD did, per attachment, on disk: <dataDir>/<network>/<containerID>@<ifname>.json.
// The spec's key for plugin state is (network name, CNI_CONTAINERID, CNI_IFNAME); the record
// names the host-side interface, so DEL works without the pod's namespace and GC can tell which
// interfaces belong to attachments the runtime no longer knows.
import * as fs from 'fs';
import * as path from 'path';

export interface AttachmentRecord {
  version: 1;
  network: string;
  containerID: string;
  ifname: string;
  netns?: string;
  /** The pod's host-side interface, its index then, and its IFB (when egress is shaped). */
  hostIfname: string;
  hostIfindex: number;
  ifb?: string;
}

const dirOf = (dataDir: string, network: string) => path.join(dataDir, network);
// containerID has no '@' (CNI allows [A-Za-z0-9_.-]), so the name is unambiguous.
const fileOf = (dataDir: string, network: string, containerID: string, ifname: string) =>
  path.join(dirOf(dataDir, network), `${containerID}@${ifname}.json`);

export function writeRecord(dataDir: string, r: AttachmentRecord): void {
  const file = fileOf(dataDir, r.network, r.containerID, r.ifname);
  const text = `${JSON.stringify(r)}\n`;
  // A repeated ADD finds its record unchanged: replacing a file by rename makes ext4 start
  // writeback (auto_da_alloc), a millisecond or more per ADD.
  try {
    if (fs.readFileSync(file, 'utf8') === text) return;
  } catch {
    /* not there yet */
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export function readRecord(
  dataDir: string,
  network: string,
  containerID: string,
  ifname: string,
): AttachmentRecord | undefined {
  try {
    return parse(fs.readFileSync(fileOf(dataDir, network, containerID, ifname), 'utf8'));
  } catch {
    return undefined;
  }
}

export function removeRecord(dataDir: string, network: string, containerID: string, ifname: string): void {
  fs.rmSync(fileOf(dataDir, network, containerID, ifname), { force: true });
}

/** Every record of a network (unreadable files are skipped). */
export function listRecords(dataDir: string, network: string): AttachmentRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(dirOf(dataDir, network));
  } catch {
    return [];
  }
  const out: AttachmentRecord[] = [];
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    try {
      const r = parse(fs.readFileSync(path.join(dirOf(dataDir, network), n), 'utf8'));
      if (r) out.push(r);
    } catch {
      /* skip */
    }
  }
  return out;
}

function parse(text: string): AttachmentRecord | undefined {
  const r = JSON.parse(text) as AttachmentRecord;
  return r &&
    r.version === 1 &&
    typeof r.hostIfname === 'string' &&
    typeof r.containerID === 'string' &&
    typeof r.ifname === 'string'
    ? r
    : undefined;
}
