// The netqos commands: argument parsing (commander), the library calls, and the mapping of
// failures to exit codes. main.ts only wires this to the process.
import * as fs from 'fs';
import * as path from 'path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { openNetlink, type NetlinkHandle } from '../handle';
import { NetlinkError } from '../netlink';
import {
  AnnotationError,
  QosBusyError,
  QosConflictError,
  applyQos,
  clearQos,
  isNetqosIfbName,
  isValidInterfaceName,
  parseQosAnnotations,
  planQos,
  readQos,
  type AnnotationMode,
  type Dataplane,
  type QosStatus,
  type TargetPlan,
  type TbfProfile,
} from '../qos';
import { quoteValue } from '../qos/errors';
import { InputError, collectAnnotations, parseAnnotationArg } from './input';
import { ManifestError } from '../manifest';
import { formatStatusTable, hasQos } from '../qos';
import { formatForeign, formatResult, resultJson, statusJson } from './format';
import { runTop, type TopSort, type TopTerminal } from './top';

/** Exit codes (also in main.ts and `netqos --help`). */
export const EXIT = {
  /** Success, including "no change". */
  OK: 0,
  /** A runtime or kernel failure (NetlinkError), a namespace or interface that does not exist. */
  FAILURE: 1,
  /** Usage or input error: bad flags, an unreadable or invalid manifest, invalid annotations. */
  USAGE: 2,
  /** The interface carries another tool's objects that netqos would have to replace. */
  CONFLICT: 3,
} as const;

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

const EXIT_CODES_HELP = `
Exit codes:
  0  success (also when nothing had to change)
  1  runtime or kernel failure: the kernel refused a change (its words follow "kernel:"),
     a network namespace or interface that does not exist, the native engine missing
  2  usage or input error: bad flags, an unreadable or invalid manifest, invalid annotations
     (nothing is sent to the kernel)
  3  conflict: the interface carries another tool's object netqos would have to replace
     (e.g. a root qdisc that is not the kernel's default); nothing is changed

Errors go to standard error; standard output carries only results.`;

const ANNOTATION_HELP = `
Annotations (Calico's; values are Kubernetes quantities, e.g. 10M = 10,000,000):
  qos.projectcalico.org/{ingress,egress}Bandwidth     bit/s     1k .. 1P
  qos.projectcalico.org/{ingress,egress}Burst         bits      needs the bandwidth
  qos.projectcalico.org/{ingress,egress}Peakrate      bit/s     above the bandwidth
  qos.projectcalico.org/{ingress,egress}Minburst      bytes     needs the peakrate
  qos.projectcalico.org/{ingress,egress}PacketRate    packets/s 1 .. 10k
  qos.projectcalico.org/{ingress,egress}PacketBurst   packets   needs the packet rate
  qos.projectcalico.org/{ingress,egress}MaxConnections  TCP connections (new ones beyond: reset)
  qos.projectcalico.org/dscp                          0-63, DF, EF, AFxy, CSx (traffic from the pod)
  kubernetes.io/{ingress,egress}-bandwidth            bit/s     (the Calico key wins)
"ingress" is traffic to the pod, "egress" traffic from it. -a KEY=VALUE overrides the manifest's
value of the same key. A manifest may hold several documents (---) or a List; exactly one Pod
among them is used.
Bandwidth is a TBF (tc); connection limits are nftables rules (conntrack's ct count); packet rate
and DSCP go where --dataplane says: tc (police; pedit + csum + skbedit), nftables (limit; dscp
set), or auto (default): tc where the kernel has those actions, nftables where not.`;

/** package.json's version, found by walking up from this file (lib/cli or dist/lib/cli). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'netqos') return pkg.version ?? '0.0.0';
    } catch {
      /* keep looking */
    }
  }
  return '0.0.0';
}

/** "2", "1.5", "500ms", "2s" -> milliseconds (a bare number is seconds, as top's -d). */
function parseInterval(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim());
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : 1000) : NaN;
  if (!(ms >= 100 && ms <= 3_600_000))
    throw new InvalidArgumentError(
      `${JSON.stringify(value.slice(0, 64))} is not a duration from 100ms to 3600s (e.g. 1s, 500ms, 2)`,
    );
  return ms;
}

function parseCount(value: string): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1))
    throw new InvalidArgumentError(`${JSON.stringify(value.slice(0, 64))} is not a whole number from 1`);
  return n;
}

/** This process's terminal for `netqos top`: keys in raw mode while it runs. */
function processTerminal(): TopTerminal {
  const out = process.stdout;
  return {
    isTTY: !!out.isTTY,
    columns: out.isTTY ? out.columns : undefined,
    rows: out.isTTY ? out.rows : undefined,
    write: (text) => void out.write(text),
    keys(onKey) {
      const stdin = process.stdin;
      if (!stdin.isTTY) return () => {};
      stdin.setRawMode(true);
      const onData = (data: Buffer) => {
        for (const ch of data.toString('utf8')) onKey(ch);
      };
      stdin.on('data', onData);
      stdin.resume();
      return () => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
      };
    },
  };
}

function collectAnnotation(value: string, previous: string[] | undefined): string[] {
  try {
    parseAnnotationArg(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return [...(previous ?? []), value];
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function checkIfname(ifname: string): string {
  if (!isValidInterfaceName(ifname)) {
    throw new InputError(
      `${JSON.stringify(ifname)} is not a valid interface name (1 to 15 bytes, not "." or "..", no "/", ":" or whitespace)`,
    );
  }
  return ifname;
}

interface CommonOptions {
  netns?: string;
  json?: boolean;
}

interface ApplyOptions extends CommonOptions {
  /** Undefined when not given (no "(default: [])" in the help). */
  annotation?: string[];
  file?: string[];
  mode: AnnotationMode;
  profile: TbfProfile;
  dataplane: Dataplane;
  dryRun?: boolean;
}

const where = (netns: string | undefined) =>
  netns ? `network namespace ${netns}` : 'this network namespace';

/** --netns as the library takes it: a non-empty path or name (an empty one once meant "this one"). */
function checkNetns(netns: string | undefined): void {
  if (netns === undefined) return;
  if (netns === '' || netns.includes('\0'))
    throw new InputError(
      `--netns ${quoteValue(netns)}: give a name under /var/run/netns or a path (leave --netns out for this namespace)`,
    );
}

/** Opens the namespace's handle, runs `fn` with it (passed to the library as its handle), closes it. */
async function withHandle<T>(
  netns: string | undefined,
  fn: (nl: NetlinkHandle, handles: Map<string, NetlinkHandle>) => Promise<T>,
): Promise<T> {
  checkNetns(netns);
  let nl: NetlinkHandle;
  try {
    nl = openNetlink({ netns });
  } catch (e) {
    // Every failure to enter the namespace names it ("Invalid argument" alone does not).
    if (!(e instanceof NetlinkError) || netns === undefined || e.message.includes(netns)) throw e;
    throw new NetlinkError(`--netns ${quoteValue(netns)}: ${e.message}`, e);
  }
  try {
    return await fn(nl, new Map([[netns ?? '', nl]]));
  } finally {
    nl.close();
  }
}

/** A missing interface is a runtime failure (exit 1), told apart from a conflict before planning. */
async function requireInterface(nl: NetlinkHandle, ifname: string, netns: string | undefined): Promise<void> {
  const links = await nl.dump({ type: 'link' });
  if (!links.some((l) => l.name === ifname)) {
    throw new NetlinkError(`${ifname}: no such interface in ${where(netns)}`, { errno: 19, code: 'ENODEV' });
  }
}

function report(io: Io, targets: readonly TargetPlan[], sent: number, json: boolean | undefined): void {
  for (const t of targets) for (const w of t.warnings) io.stderr(`warning: ${w}\n`);
  io.stdout(json ? `${JSON.stringify(resultJson(targets, sent), null, 2)}\n` : `${formatResult(targets)}\n`);
}

async function applyOrPlan(io: Io, ifname: string, opts: ApplyOptions, send: boolean): Promise<number> {
  checkIfname(ifname);
  if (!opts.annotation?.length && !opts.file?.length) {
    throw new InputError(
      'give the annotations with -a KEY=VALUE and/or a Pod manifest with -f FILE (to remove every netqos object, use `netqos clear`)',
    );
  }
  const { annotations } = collectAnnotations({ annotation: opts.annotation, file: opts.file });
  // Judge the annotations as apply will, before touching the namespace: input errors first (exit 2).
  parseQosAnnotations(annotations, { mode: opts.mode, profile: opts.profile });
  const target = { ifname, netns: opts.netns, annotations };
  return withHandle(opts.netns, async (nl, handles) => {
    await requireInterface(nl, ifname, opts.netns);
    const options = { mode: opts.mode, profile: opts.profile, dataplane: opts.dataplane, handles };
    if (send) {
      const result = await applyQos([target], options);
      report(io, result.targets, result.sent, opts.json);
    } else {
      const plan = await planQos([target], options);
      report(io, plan.targets, 0, opts.json);
    }
    return EXIT.OK;
  });
}

async function clear(io: Io, ifname: string, opts: CommonOptions): Promise<number> {
  checkIfname(ifname);
  return withHandle(opts.netns, async (nl, handles) => {
    await requireInterface(nl, ifname, opts.netns);
    const result = await clearQos([{ ifname, netns: opts.netns }], { handles });
    report(io, result.targets, result.sent, opts.json);
    return EXIT.OK;
  });
}

async function show(io: Io, ifnames: string[], opts: CommonOptions): Promise<number> {
  ifnames.forEach(checkIfname);
  return withHandle(opts.netns, async (nl, handles) => {
    let statuses: QosStatus[];
    if (ifnames.length) {
      statuses = await readQos(
        ifnames.map((ifname) => ({ ifname, netns: opts.netns })),
        { handles },
      );
    } else {
      // Every interface of the namespace that carries netqos objects; netqos's IFBs appear as
      // the egress of their pod interface, not as interfaces of their own.
      const names = (await nl.dump({ type: 'link' })).map((l) => l.name).filter((n) => !isNetqosIfbName(n));
      statuses = (
        await readQos(
          names.map((ifname) => ({ ifname, netns: opts.netns })),
          { handles },
        )
      ).filter(hasQos);
    }
    if (opts.json) io.stdout(`${JSON.stringify(statusJson(statuses), null, 2)}\n`);
    else if (statuses.length) io.stdout(`${formatStatusTable(statuses)}\n${formatForeign(statuses)}`);
    else io.stdout(`no interface in ${where(opts.netns)} carries netqos objects\n`);
    const missing = statuses.filter((s) => !s.exists);
    for (const s of missing) io.stderr(`error: ${s.ifname}: no such interface in ${where(opts.netns)}\n`);
    return missing.length ? EXIT.FAILURE : EXIT.OK;
  });
}

/**
 * The lab and the agent are loaded only when asked for: the agent's Kubernetes client and the
 * lab's modules would cost every other command their start-up time. Typed lazy imports: tsc
 * checks the modules and their entry points as if they were imported at the top.
 */
const loadLab = () => import('../lab');
const loadAgent = () => import('../agent');

/** A module of this build that is not there (a trimmed copy of dist/lib), by its path. */
function moduleMissing(e: unknown, specifier: string): boolean {
  const err = e as NodeJS.ErrnoException;
  return (
    err?.code === 'MODULE_NOT_FOUND' &&
    typeof err.message === 'string' &&
    err.message.includes(`'${specifier}'`)
  );
}

/** `netqos lab ...`: everything after `lab` goes to lib/lab's runLab. */
async function lab(io: Io, argv: string[]): Promise<number> {
  let mod: Awaited<ReturnType<typeof loadLab>>;
  try {
    mod = await loadLab();
  } catch (e) {
    if (moduleMissing(e, '../lab')) {
      io.stderr('error: the lab is not part of this build of netqos (lib/lab is missing)\n');
      return EXIT.FAILURE;
    }
    throw e;
  }
  return mod.runLab(argv);
}

/** `netqos agent ...`: everything after `agent` goes to lib/agent's runAgent. */
async function agent(io: Io, argv: string[]): Promise<number> {
  const { runAgent } = await loadAgent();
  return runAgent(argv, io);
}

function addApplyOptions(cmd: Command): Command {
  return cmd
    .argument('<ifname>', "the pod's host-side interface (e.g. cali0)")
    .option(
      '-n, --netns <ns>',
      'network namespace: a name under /var/run/netns or a path (default: this one)',
    )
    .option(
      '-a, --annotation <KEY=VALUE>',
      'a pod annotation (repeatable; overrides the manifest)',
      collectAnnotation,
    )
    .option(
      '-f, --file <manifest>',
      'a Pod manifest, YAML or JSON, "-" for standard input (repeatable)',
      collect,
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'strict: any bad annotation fails; calico: clamp and drop as Calico does, with warnings',
      )
        .choices(['strict', 'calico'])
        .default('strict'),
    )
    .addOption(
      new Option('--profile <profile>', "TBF numbers: netqos's burst policy or exactly Calico's")
        .choices(['netqos', 'calico'])
        .default('netqos'),
    )
    .addOption(
      new Option(
        '--dataplane <dataplane>',
        'what enforces packet rate and DSCP: tc, nftables, or auto (tc where the kernel has the actions)',
      )
        .choices(['auto', 'tc', 'nftables'])
        .default('auto'),
    )
    .option('--json', 'print the result as JSON (see below)');
}

const RESULT_JSON_HELP = `
JSON output (--json), version 1:
  { "version": 1, "sent": N,
    "targets": [ { "ifname": "cali0", "netns": "NS" | null,
                   "operations": [ { "description": "<the human line>", "operation": { ... } } ],
                   "nftables": [ { "description": "...", "operation": { ... } } ],
                   "enforcedBy": { "bandwidth"?: "tc", "packetRate"?, "dscp"?: "tc" | "nftables",
                                   "maxConnections"?: "nftables" },
                   "warnings": [ "..." ] } ] }
  "sent" counts the operations sent to the kernel, tc's and nftables' (0 for a plan);
  "operation" is the library's Operation (tc) or NftOperation (nftables) object as sent.`;

const STATUS_JSON_HELP = `
JSON output (--json), version 1:
  { "version": 1,
    "interfaces": [ { "ifname": "cali0", "netns": "NS" | null, "exists": true,
                      "ingress": { "bandwidth", "burst", "limit", "peakrate", "minburst",
                                   "packetRate", "packetBurst", "maxConnections",
                                   "enforcedBy": { control: "tc" | "nftables" },
                                   "shaper": Stats, "policer": Stats,
                                   "packetRateDrops", "rejectedConnections" },
                      "egress": { ...the same, "ifb", "dscp", "remarkedPackets" },
                      "foreign": { "root", "filters" } } ] }
  Rates in bit/s, sizes in bytes, packet rates in packets/s; absent fields mean no such control.
  Stats: { "bytes", "packets", "drops", "overlimits", "requeues", "backlog", "qlen" }.
  "ingress" is traffic to the pod, "egress" traffic from it.`;

/** The command tree. `setCode` receives each action's exit code. */
export function buildProgram(io: Io, setCode: (code: number) => void): Command {
  const program = new Command('netqos');
  program
    .description('Pod QoS (Calico annotations) as Linux traffic control, over rtnetlink')
    .version(packageVersion(), '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  netqos apply cali0 -a qos.projectcalico.org/ingressBandwidth=10M -a qos.projectcalico.org/egressBandwidth=10M
  netqos apply cali0 --netns node -f examples/iperf-server-qos.yaml
  netqos plan cali0 -f examples/pod-dscp-packets.yaml
  netqos show
  netqos show cali0 --json
  netqos clear cali0
  netqos lab --help
${EXIT_CODES_HELP}`,
    );

  addApplyOptions(program.command('apply'))
    .description(
      "make an interface's traffic control match a pod's QoS annotations, changing only the difference",
    )
    .option('--dry-run', 'print what would change and send nothing (same as `netqos plan`)')
    .addHelpText(
      'after',
      `
Prints one line per change (or "no change" when everything is already in place); warnings go
to standard error, prefixed "warning: ".
${ANNOTATION_HELP}

Examples:
  netqos apply cali0 -a qos.projectcalico.org/ingressBandwidth=10M -a qos.projectcalico.org/egressBandwidth=10M
  netqos apply cali0 --netns node -f examples/iperf-server-qos.yaml
  netqos apply cali0 -f pod.yaml -a qos.projectcalico.org/egressBandwidth=20M
  kubectl get pod iperf-server-qos -o yaml | netqos apply cali0 -f -
  netqos apply cali0 --mode calico --profile calico -a qos.projectcalico.org/ingressBandwidth=10M
${RESULT_JSON_HELP}
${EXIT_CODES_HELP}`,
    )
    .action(async (ifname: string, opts: ApplyOptions) =>
      setCode(await applyOrPlan(io, ifname, opts, !opts.dryRun)),
    );

  addApplyOptions(program.command('plan'))
    .description('print the operations `netqos apply` would send, sending nothing (a dry run)')
    .addHelpText(
      'after',
      `
Takes the same arguments as apply. Prints one line per operation, or "no change".
${ANNOTATION_HELP}

Examples:
  netqos plan cali0 -f examples/iperf-server-qos.yaml
  netqos plan cali0 --netns node -a qos.projectcalico.org/dscp=EF --json
${RESULT_JSON_HELP}
${EXIT_CODES_HELP}`,
    )
    .action(async (ifname: string, opts: ApplyOptions) =>
      setCode(await applyOrPlan(io, ifname, opts, false)),
    );

  program
    .command('show')
    .description('show the QoS in force (limits and statistics), read back from the kernel')
    .argument('[ifname...]', 'interfaces to show (default: every interface that carries netqos objects)')
    .option(
      '-n, --netns <ns>',
      'network namespace: a name under /var/run/netns or a path (default: this one)',
    )
    .option('--json', 'print a JSON document (see below) instead of the table')
    .addHelpText(
      'after',
      `
The table has one row per interface and direction: RATE, BURST and LIMIT of the shaper, PKT RATE
(packets/s / burst in packets) of the packet-rate limit, DSCP written into traffic from the pod,
MAX CONN (TCP connections), and the counters: BYTES and PACKETS passed by the shaper (else the
tc policer), DROPS (the shaper's, and packets over the packet rate), OVERLIMITS, RESETS
(connections reset over MAX CONN); DATAPLANE says what enforces them (tc, nftables).
A named interface without netqos objects shows "(none)"; one that does not exist is an error.
${STATUS_JSON_HELP}

Examples:
  netqos show
  netqos show cali0 cali1 --netns node
  netqos show cali0 --json | jq '.interfaces[0].ingress.shaper.drops'
${EXIT_CODES_HELP}`,
    )
    .action(async (ifnames: string[], opts: CommonOptions) => setCode(await show(io, ifnames, opts)));

  program
    .command('top')
    .description(
      'a live view of every pod interface: limits and measured rates, drops per second; nftables counters',
    )
    .option(
      '-n, --netns <ns>',
      'network namespace: a name under /var/run/netns or a path (default: this one)',
    )
    .option('--interval <duration>', 'time between refreshes: seconds or 500ms, 2s, ...', parseInterval, 1000)
    .addOption(
      new Option('--sort <by>', 'busiest first by rate, by drops, or by name')
        .choices(['rate', 'drops', 'name'])
        .default('rate'),
    )
    .option('--json', 'one JSON document per refresh (a line each) instead of the table')
    .option('--iterations <n>', 'stop after n refreshes', parseCount)
    .addHelpText(
      'after',
      `
One row per interface and direction that has a control: "to" the pod (its ingress limit), "from"
it (egress). LIMIT is the configured bandwidth, RATE what the shaper passed over the last
interval (wire bytes: TCP goodput reads about 4.4% lower at MTU 1500), PKT/s its packets, DROP/s
and OVER/s the shaper's and policer's drops and overlimits, PKTLIM the packet-rate limit, DSCP
what traffic from the pod is marked with. Where nftables enforces packet rate, DSCP or a
connection limit, a second table (NFTABLES) has its counters per second: LIMDROP/s packets
dropped over the rate, MARK/s packets re-marked, RESET/s connections reset over MAXCONN.
The first refresh has no rates yet ("-").
In a terminal the table is redrawn in place; q or Ctrl-C quits. Otherwise (a pipe, a file) each
refresh prints a time-stamped block. Reads only: nothing it does shows in tc monitor.

Examples:
  netqos top
  netqos top -n node --interval 2s --sort drops
  netqos top --json --iterations 5 | jq '.rows[] | select(.direction == "to")'
${EXIT_CODES_HELP}`,
    )
    .action(
      async (opts: {
        netns?: string;
        interval: number;
        sort: TopSort;
        json?: boolean;
        iterations?: number;
      }) =>
        setCode(
          await runTop(
            {
              netns: opts.netns,
              intervalMs: opts.interval,
              sort: opts.sort,
              json: opts.json,
              iterations: opts.iterations,
            },
            processTerminal(),
          ),
        ),
    );

  program
    .command('clear')
    .description("remove every netqos object from an interface (other tools' objects stay)")
    .argument('<ifname>', "the pod's host-side interface")
    .option(
      '-n, --netns <ns>',
      'network namespace: a name under /var/run/netns or a path (default: this one)',
    )
    .option('--json', 'print the result as JSON (see below)')
    .addHelpText(
      'after',
      `
Prints one line per removal, or "no change".
${RESULT_JSON_HELP}

Examples:
  netqos clear cali0
  netqos clear cali0 --netns node --json
${EXIT_CODES_HELP}`,
    )
    .action(async (ifname: string, opts: CommonOptions) => setCode(await clear(io, ifname, opts)));

  program
    .command('cni-install')
    .description('install netqos as a CNI plugin: an executable named netqos in the CNI bin directory')
    .option('--dir <dir>', "the runtime's CNI bin directory", '/opt/cni/bin')
    .option('--name <name>', 'the executable\'s name, the "type" in the network configuration', 'netqos')
    .option(
      '--socket <path>',
      'the socket of the resident CNI server the plugin forwards to',
      '/run/netqos/cni.sock',
    )
    .option(
      '--no-fallback',
      'without a server, answer "try again later" instead of running the Node plugin (e.g. when this Node is not on the host)',
    )
    .option('--no-bundle', 'skip the one-file bundle and code cache (the Node plugin then starts slower)')
    .addHelpText(
      'after',
      `
Writes DIR/NAME: netqos's native plugin (build/Release/netqos-cni, a few kilobytes of C) with the
socket and the fallback recorded at its end. Each call forwards the invocation to the resident
server (\`netqos cni-server\` or \`netqos agent --cni-socket\`), which runs it in-process; with no
server listening it runs this installation's dist/lib/cni/main.js with this Node instead (the
same plugin, tens of milliseconds slower). Without a built shim it writes a shell script that
always runs main.js, and says so. Also writes the Node plugin's bundle and V8 code cache next to
main.js (as root: netqos's own directory must be writable), and prints a conflist to start from.
Run it again after moving or upgrading netqos. Exit codes: 0 installed, 1 failure.`,
    )
    .action((opts: { dir: string; name: string; socket: string; fallback: boolean; bundle: boolean }) => {
      // Loaded only for this command: the CLI's other commands never read lib/cni.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand
      const { runCniInstall } = require('../cni/install') as typeof import('../cni/install');
      setCode(
        runCniInstall(
          {
            dir: opts.dir,
            name: opts.name,
            socket: opts.socket,
            fallback: opts.fallback,
            bundle: opts.bundle,
          },
          io.stdout,
          io.stderr,
        ),
      );
    });

  program
    .command('cni-server')
    .description(
      'serve the CNI plugin from this process: the installed plugin forwards each call here (fast pod ADD)',
    )
    .option(
      '--socket <path>',
      'the unix socket to listen on (mode 0600; a stale one is replaced)',
      '/run/netqos/cni.sock',
    )
    .option('--verbose', 'one line per request on standard error')
    .addHelpText(
      'after',
      `
Runs in the foreground until SIGTERM or SIGINT, in the host's network namespace (as root, like
the plugin). Each call of the installed plugin (\`netqos cni-install\`) is run here in-process, one
at a time, in the network namespace the plugin was called in; when that cannot be established
(another PID or mount namespace that does not match) the plugin runs the Node fallback instead.
Logs go to standard error. \`netqos agent --cni-socket PATH\` serves the same from the agent.
Exit codes: 0 after a signal, 1 when the socket cannot be served.`,
    )
    .action(async (opts: { socket: string; verbose?: boolean }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand
      const { runCniServer } = require('../cni/server') as typeof import('../cni/server');
      setCode(await runCniServer({ socket: opts.socket, verbose: opts.verbose }, io.stderr));
    });

  program
    .command('lab')
    .description('reproduce the Calico QoS lab in network namespaces (`netqos lab --help` for its options)')
    .argument('[args...]', "the lab's own arguments")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .action(async (args: string[]) => setCode(await lab(io, args)));

  program
    .command('agent')
    .description(
      'run the node agent: follow the pods (Kubernetes or a manifest directory) and keep their QoS in force (`netqos agent --help`)',
    )
    .argument('[args...]', "the agent's own arguments")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .action(async (args: string[]) => setCode(await agent(io, args)));

  return program;
}

/** Maps an error to its message lines on stderr and its exit code. */
export function reportError(io: Io, e: unknown): number {
  const line = (s: string) => io.stderr(`${s}\n`);
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE; // commander printed it
  if (e instanceof InputError || e instanceof ManifestError) {
    for (const p of e.problems) line(`error: ${p}`);
    return EXIT.USAGE;
  }
  if (e instanceof AnnotationError) {
    for (const p of e.problems) line(`error: ${p.message}`);
    return EXIT.USAGE;
  }
  if (e instanceof QosConflictError) {
    line(`error: ${e.message}`);
    return EXIT.CONFLICT;
  }
  // Any argument the library or the engine refuses before sending: bad input, nothing changed.
  if (e instanceof Error && (e as { code?: unknown }).code === 'ERR_NETQOS_INVALID_ARGUMENT') {
    line(`error: ${e.message}`);
    return EXIT.USAGE;
  }
  if (e instanceof QosBusyError) {
    line(`error: ${e.message}`);
    return EXIT.FAILURE;
  }
  if (e instanceof NetlinkError) {
    line(`error: ${e.message}`);
    if (e.kernelMessage) line(`kernel: ${e.kernelMessage}`);
    return EXIT.FAILURE;
  }
  line(`error: ${e instanceof Error ? e.message : String(e)}`);
  return EXIT.FAILURE;
}

/** Runs one command line (without the node and script paths) and returns its exit code. */
export async function run(args: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...args], { from: 'user' });
    return code;
  } catch (e) {
    return reportError(io, e);
  }
}
