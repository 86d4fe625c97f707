// Reading a manifest from a file or standard input, bounded: at most MAX_MANIFEST_BYTES + 1
// bytes, whatever the file is (a pipe, /dev/zero).
import * as fs from 'fs';
import { ManifestError } from './errors';

/** The largest manifest read: a Pod's YAML is kilobytes; a List of many, still far below this. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Reads a manifest file; '-' is standard input. At most MAX_MANIFEST_BYTES + 1 bytes are read,
 * from a regular file as from a pipe or a device (/dev/zero never ends): more is an error.
 */
export function readManifest(file: string): string {
  const name = file === '-' ? 'standard input' : file;
  let fd: number | undefined;
  try {
    fd = file === '-' ? 0 : fs.openSync(file, 'r');
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (st.isFile() && st.size > MAX_MANIFEST_BYTES)
      throw new ManifestError(
        `${name}: the manifest is ${st.size} bytes; at most ${MAX_MANIFEST_BYTES} are read`,
      );
    const buffer = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      let n: number;
      try {
        n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      } catch (e) {
        // Standard input may have been left non-blocking by whoever shares it: wait for data.
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (n === 0) break;
      length += n;
    }
    if (length > MAX_MANIFEST_BYTES)
      throw new ManifestError(
        `${name}: the manifest is over ${MAX_MANIFEST_BYTES} bytes (read stopped there)`,
      );
    return buffer.toString('utf8', 0, length);
  } catch (e) {
    if (e instanceof ManifestError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.code === 'EISDIR'
            ? 'is a directory'
            : err.message;
    throw new ManifestError(`${name}: cannot read the manifest: ${why}`);
  } finally {
    if (fd !== undefined && fd !== 0) fs.closeSync(fd);
  }
}
