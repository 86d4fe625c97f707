#!/usr/bin/env node
// netqos: the command line (package.json "bin").
//
//   netqos apply <ifname> [--netns NS] [-a KEY=VALUE ...] [-f pod.yaml ...] [--mode strict|calico]
//                         [--profile netqos|calico] [--dry-run] [--json]
//   netqos plan  <ifname> (the same arguments; sends nothing)
//   netqos show  [<ifname>...] [--netns NS] [--json]
//   netqos clear <ifname> [--netns NS] [--json]
//   netqos lab   [...]    (everything goes to lib/lab's runLab)
//
// Exit codes:
//   0  success, also "no change"
//   1  runtime or kernel failure (NetlinkError: "error: <message>", then "kernel: <its words>"),
//      a network namespace or interface that does not exist
//   2  usage or input error: bad flags (InputError), an unreadable or invalid manifest
//      (ManifestError), invalid annotations (AnnotationError): one "error: " line per problem;
//      nothing is sent to the kernel
//   3  conflict with another tool's objects (QosConflictError); nothing is changed
// Errors go to stderr; stdout carries only results (lines, the table, or JSON documented in
// format.ts). The commands live in commands.ts, -a and -f in input.ts (manifests: lib/manifest),
// output in format.ts.
import { run } from './commands';

// `netqos show | head` closes the pipe early: that is not a failure.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
