// `netqos agent ...`: options, then the agent until SIGTERM or SIGINT.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isValidInterfaceName } from '../qos';
import { DEFAULT_LISTEN, makeLogger, parseListen, startAgent, type Agent, type AgentOptions } from './agent';

export interface AgentIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const defaultIo: AgentIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

interface CliOptions {
  manifests?: string;
  kubeconfig?: string;
  nodeName?: string;
  netns?: string;
  interfacePrefix: string;
  resync: number;
  listen: string;
  metrics: boolean;
  logLevel: string;
  mode: 'strict' | 'calico';
  profile: 'netqos' | 'calico';
  dataplane: 'auto' | 'tc' | 'nftables';
  gcScope: 'prefix' | 'all';
  cniSocket?: string;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0');
  return n;
}

function prefixArg(value: string): string {
  if (!value || !isValidInterfaceName(`${value}0123456789a`))
    throw new InvalidArgumentError(
      'the prefix plus 11 hex digits must be a valid interface name (prefix of 1 to 4 bytes, no "/", ":" or whitespace)',
    );
  return value;
}

function listenArg(value: string): string {
  try {
    parseListen(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--listen "[^"]*": /, ''));
  }
  return value;
}

export const AGENT_HELP = `
Sources:
  Kubernetes (default): lists and watches the pods of this node (field selector
  spec.nodeName=<node>), with the in-cluster service account or --kubeconfig; relists when the
  resourceVersion expires (410 Gone) and reconnects with a backoff. Invalid annotations are
  reported as Events on the pod (reason InvalidQoSAnnotations).
  --manifests DIR: the Pod manifests (YAML/JSON, several documents or a List per file) in DIR,
  watched (fs.watch and a periodic rescan). A pod's interface is its annotation
  netqos.io/interface when present, else Calico's name.

A pod's host-side interface is Calico's: <prefix> + the first 11 hex digits of
sha1("<namespace>.<name>") (namespace "default" when missing). Pods are reconciled on every
change, and all of them every --resync seconds (drift is repaired; netqos IFBs whose interface is
gone, and netqos objects on interfaces no pod claims, are removed). A pod whose interface does not
exist yet is retried with a backoff. A pod with invalid annotations is reported and keeps the QoS
it had; the other pods carry on.

HTTP (--listen): /metrics (Prometheus), /healthz, /readyz (ready after the first full sync).
CNI (--cni-socket PATH): also serves the netqos CNI plugin that \`netqos cni-install --socket PATH\`
installed: each pod's ADD/DEL/CHECK/GC runs in this process (as \`netqos cni-server\` would).
Logs: JSON lines on standard output (pino). SIGTERM or SIGINT stops the agent cleanly; the QoS
stays in force, and a restarted agent with nothing changed sends nothing to the kernel.

Examples:
  netqos agent --manifests /etc/netqos/pods --netns node
  netqos agent --kubeconfig ~/.kube/config --node-name worker-1
  NODE_NAME=worker-1 netqos agent            (in a pod: in-cluster configuration)`;

export function buildAgentCommand(io: AgentIo, run: (opts: CliOptions) => Promise<void>): Command {
  return new Command('netqos agent')
    .description('follow the pods of this node and keep their QoS annotations in force')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .option('--manifests <dir>', 'follow the Pod manifests in this directory instead of Kubernetes')
    .option(
      '--kubeconfig <file>',
      'Kubernetes: kubeconfig file (default: in-cluster, else $KUBECONFIG or ~/.kube/config)',
    )
    .option('--node-name <name>', 'Kubernetes: this node (default: $NODE_NAME)')
    .option(
      '-n, --netns <ns>',
      'network namespace of the pod interfaces: a name under /var/run/netns or a path (default: this one)',
    )
    .option('--interface-prefix <prefix>', "Calico's host-side interface prefix", prefixArg, 'cali')
    .option(
      '--resync <seconds>',
      'full reconcile (drift repair, garbage collection) every so many seconds',
      seconds,
      30,
    )
    .option(
      '--listen <host:port>',
      'address for /metrics, /healthz and /readyz (port 0: any free port)',
      listenArg,
      DEFAULT_LISTEN,
    )
    .option('--no-metrics', 'serve no HTTP at all')
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .default('info'),
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'strict: invalid annotations are reported and not applied; calico: clamp and drop as Calico does',
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
    .option(
      '--cni-socket <path>',
      'also serve the CNI plugin on this unix socket (e.g. /run/netqos/cni.sock)',
    )
    .addOption(
      new Option(
        '--gc-scope <scope>',
        'interfaces cleared when no pod claims them: prefix (named with the prefix, or named by a pod this run) or all',
      )
        .choices(['prefix', 'all'])
        .default('prefix'),
    )
    .addHelpText('after', AGENT_HELP)
    .action(async (opts: CliOptions) => run(opts));
}

/** Runs the agent until SIGTERM/SIGINT; resolves with the exit code. */
export async function runAgent(argv: readonly string[], io: AgentIo = defaultIo): Promise<number> {
  let options: CliOptions | undefined;
  const cmd = buildAgentCommand(io, async (o) => {
    options = o;
  });
  try {
    await cmd.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  if (!options) return 0;
  const nodeName = options.nodeName ?? process.env.NODE_NAME;
  if (!options.manifests && !nodeName) {
    io.stderr(
      'error: the node name is needed to follow Kubernetes pods: --node-name NAME or $NODE_NAME (or --manifests DIR to follow a directory)\n',
    );
    return 2;
  }
  const logger = makeLogger(options.logLevel);
  const agentOptions: AgentOptions = {
    manifests: options.manifests,
    kubeconfig: options.kubeconfig,
    nodeName,
    netns: options.netns,
    interfacePrefix: options.interfacePrefix,
    resyncSeconds: options.resync,
    listen: options.metrics ? options.listen : null,
    logger,
    mode: options.mode,
    profile: options.profile,
    dataplane: options.dataplane,
    gcScope: options.gcScope,
    cniSocket: options.cniSocket,
    defaultMetrics: true,
  };
  let agent: Agent;
  try {
    agent = await startAgent(agentOptions);
  } catch (e) {
    logger.fatal({ err: (e as Error).message }, 'the agent could not start');
    io.stderr(`error: ${(e as Error).message}\n`);
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
  logger.info({ signal }, 'signal received');
  // A second signal, or a shutdown that hangs, ends the process anyway.
  const force = () => process.exit(1);
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  const watchdog = setTimeout(force, 10_000);
  watchdog.unref();
  await agent.stop();
  clearTimeout(watchdog);
  process.off('SIGTERM', force);
  process.off('SIGINT', force);
  // Keep-alive sockets of the Kubernetes client must not hold the process.
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
}
