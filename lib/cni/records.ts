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

/** The longest file name (Linux NAME_MAX): a record's, a network's directory. */
export const NAME_MAX = 255;

const dirOf = (dataDir: string, network: string) => path.join(dataDir, network);
// containerID has no '@' (CNI allows [A-Za-z0-9_.-]), so the name is unambiguous.
const nameOf = (containerID: string, ifname: string) => `${containerID}@${ifname}.json`;
const fileOf = (dataDir: string, network: string, containerID: string, ifname: string) =>
  path.join(dirOf(dataDir, network), nameOf(containerID, ifname));

/** Why an attachment cannot have a record (its file name would be too long), or undefined. */
export function recordNameProblem(containerID: string, ifname: string): string | undefined {
  const bytes = Buffer.byteLength(nameOf(containerID, ifname));
  if (bytes <= NAME_MAX) return undefined;
  const most = NAME_MAX - Buffer.byteLength(nameOf('', ifname));
  return `CNI_CONTAINERID is too long: ${Buffer.byteLength(containerID)} bytes; netqos records the attachment as <containerID>@<ifname>.json, a file name of at most ${NAME_MAX} bytes, so at most ${most} with CNI_IFNAME ${ifname}`;
}

let tmpSeq = 0;

/**
 * Writes (or leaves, when unchanged) an attachment's record. Returns whether there was none
 * before. Throws the file system's error.
 */
export function writeRecord(dataDir: string, r: AttachmentRecord): boolean {
  const file = fileOf(dataDir, r.network, r.containerID, r.ifname);
  const text = `${JSON.stringify(r)}\n`;
  // A repeated ADD finds its record unchanged: replacing a file by rename makes ext4 start
  // writeback (auto_da_alloc), a millisecond or more per ADD.
  let existed = false;
  try {
    const now = fs.readFileSync(file, 'utf8');
    if (now === text) return false;
    existed = true;
  } catch {
    /* not there yet */
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  // A name of its own length, whatever the record's (which may be NAME_MAX long).
  const tmp = path.join(path.dirname(file), `.${process.pid}.${++tmpSeq}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* the first error is the one to report */
    }
    throw e;
  }
  return !existed;
}

export function readRecord(
  dataDir: string,
  network: string,
  containerID: string,
  ifname: string,
): AttachmentRecord | undefined {
  if (recordNameProblem(containerID, ifname)) return undefined;
  try {
    return parse(fs.readFileSync(fileOf(dataDir, network, containerID, ifname), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Removes a record; none there is no error (the file system's other errors are thrown). */
export function removeRecord(dataDir: string, network: string, containerID: string, ifname: string): void {
  if (recordNameProblem(containerID, ifname)) return; // such a record was never written
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
