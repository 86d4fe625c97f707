// The node agent: a pod source (Kubernetes or a manifest directory), the reconciler, the periodic
// resync, and an HTTP server for /metrics, /healthz and /readyz.
import * as http from 'http';
import type { AddressInfo } from 'net';
import pino, { type Logger } from 'pino';
import type { AnnotationMode, TbfProfile } from '../qos';
import { ManifestSource } from './manifests';
import { AgentMetrics } from './metrics';
import type { PodSource } from './pods';
import type { CniServer } from '../cni/server';
import { Reconciler } from './reconciler';

export interface AgentOptions {
  /** Manifest directory mode: the directory of Pod manifests. Without it, Kubernetes. */
  manifests?: string;
  /** Kubernetes: a kubeconfig file (default: in-cluster, else $KUBECONFIG / ~/.kube/config). */
  kubeconfig?: string;
  /** Kubernetes: this node's name (the pods' spec.nodeName). */
  nodeName?: string;
  /** The pods' network namespace (a name under /var/run/netns or a path); default: this one. */
  netns?: string;
  /** Calico's host-side interface prefix (default "cali"). */
  interfacePrefix?: string;
  /** Seconds between full passes that repair drift and collect orphans (default 30). */
  resyncSeconds?: number;
  /** host:port for /metrics, /healthz, /readyz (default 127.0.0.1:9465; port 0 picks one); null: none. */
  listen?: string | null;
  logger?: Logger;
  /** pino level when no logger is given (default info). */
  logLevel?: string;
  mode?: AnnotationMode;
  profile?: TbfProfile;
  gcScope?: 'prefix' | 'all';
  /** prom-client's process metrics (memory, fds, event loop); on in the CLI. */
  defaultMetrics?: boolean;
  /** Fine tuning (ms), mostly for tests. */
  debounceMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  rescanMs?: number;
  watchBackoffMinMs?: number;
  watchBackoffMaxMs?: number;
  /** One link dump this often catches interfaces that appeared or were replaced (default 2000; 0: off). */
  linkCheckMs?: number;
  /** Also serve the CNI plugin (lib/cni/server.ts) on this unix socket. */
  cniSocket?: string;
}

export interface Agent {
  readonly logger: Logger;
  readonly source: PodSource;
  readonly reconciler: Reconciler;
  readonly metrics: AgentMetrics;
  /** The HTTP server's address (undefined without one). */
  readonly address: AddressInfo | undefined;
  /** The CNI server (with cniSocket). */
  readonly cni: CniServer | undefined;
  readonly ready: boolean;
  /** Resolves after the first successful full reconcile. */
  whenReady(): Promise<void>;
  /** Stops the watches and timers, waits for the pass in flight, closes the server and the handle. */
  stop(): Promise<void>;
}

export const DEFAULT_LISTEN = '127.0.0.1:9465';

/** CNI commands that change interfaces (the others only read). */
const CNI_CHANGES = new Set(['ADD', 'DEL', 'GC']);

/**
 * The HTTP server's bounds: what one client can make the agent hold. Scrapes share one rendered
 * exposition (AgentMetrics.exposition), so the scrapes in flight cost a waiting callback each.
 */
export const HTTP_LIMITS = {
  /** Request line and headers together, bytes (more: 431). */
  maxHeaderSize: 8192,
  maxHeadersCount: 64,
  /** Open connections (more are closed at once). */
  maxConnections: 256,
  /** Scrapes of /metrics waiting for their answer (more: 503 with Retry-After). */
  maxScrapesInFlight: 128,
  /** A request must arrive whole within (ms). */
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  /**
   * A keep-alive connection is closed this long (ms) after its last answer was handed to the
   * kernel. Node's 5 s reset connections whose client was still reading a large exposition.
   */
  keepAliveTimeoutMs: 30_000,
  /** A connection with no traffic at all for this long (ms) is closed (one that never sends a request). */
  idleTimeoutMs: 60_000,
} as const;

/** "127.0.0.1:9465", "[::1]:9465", ":9465" (all addresses) -> host and port. */
export function parseListen(listen: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new Error(
      `--listen ${JSON.stringify(listen)}: expected HOST:PORT, e.g. 127.0.0.1:9465 or [::1]:9465`,
    );
  const host = m[1] ?? m[2];
  return { host: host || undefined, port };
}

export function makeLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'netqos-agent',
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const logger = options.logger ?? makeLogger(options.logLevel);
  const resyncMs = Math.max(0.05, options.resyncSeconds ?? 30) * 1000;
  const prefix = options.interfacePrefix ?? 'cali';
  const rule = { prefix, explicit: !!options.manifests };
  // eslint-disable-next-line prefer-const -- assigned once the metrics exist
  let reconciler: Reconciler | undefined;
  const metrics = new AgentMetrics(
    {
      podStats: () => reconciler?.podStats() ?? Promise.resolve([]),
      messages: () => reconciler?.messages() ?? 0,
      podStates: () => reconciler?.counts() ?? {},
    },
    { defaultMetrics: options.defaultMetrics },
  );
  let source: PodSource;
  if (options.manifests) {
    source = new ManifestSource({
      dir: options.manifests,
      rule,
      logger,
      rescanMs: options.rescanMs ?? Math.min(5000, resyncMs),
      debounceMs: options.debounceMs === undefined ? undefined : Math.min(50, options.debounceMs),
    });
  } else {
    if (!options.nodeName)
      throw new Error(
        'the node name is needed to follow Kubernetes pods: --node-name or $NODE_NAME (the DaemonSet sets it from spec.nodeName)',
      );
    const { KubernetesSource } = await import('./kubernetes');
    source = new KubernetesSource({
      nodeName: options.nodeName,
      kubeconfig: options.kubeconfig,
      rule,
      logger,
      backoffMinMs: options.watchBackoffMinMs,
      backoffMaxMs: options.watchBackoffMaxMs,
      onEvent: (event) => metrics.sourceEvents.inc({ event }),
    });
  }

  let resolveReady!: () => void;
  const readyPromise = new Promise<void>((r) => (resolveReady = r));
  reconciler = new Reconciler(source, {
    netns: options.netns,
    mode: options.mode,
    profile: options.profile,
    prefix,
    gcScope: options.gcScope,
    logger,
    metrics,
    debounceMs: options.debounceMs,
    retryMinMs: options.retryMinMs,
    retryMaxMs: options.retryMaxMs,
    linkCheckMs: options.linkCheckMs,
    onReady: () => resolveReady(),
  });
  const rec = reconciler;

  let server: http.Server | undefined;
  let cni: CniServer | undefined;
  let stopped = false;
  let interval: NodeJS.Timeout | undefined;
  const cleanup = async () => {
    stopped = true;
    if (interval) clearInterval(interval);
    await source
      .stop()
      .catch((e: Error) => logger.warn({ err: e.message }, 'stopping the pod source failed'));
    await cni?.close();
    await rec.stop();
    if (server) {
      const s = server;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
  };

  try {
    const listen = options.listen === undefined ? DEFAULT_LISTEN : options.listen;
    if (listen) {
      const { host, port } = parseListen(listen);
      server = http.createServer(
        {
          maxHeaderSize: HTTP_LIMITS.maxHeaderSize,
          requestTimeout: HTTP_LIMITS.requestTimeoutMs,
          headersTimeout: HTTP_LIMITS.headersTimeoutMs,
          keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
        },
        (req, res) => void handle(req, res),
      );
      server.maxHeadersCount = HTTP_LIMITS.maxHeadersCount;
      server.maxConnections = HTTP_LIMITS.maxConnections;
      server.timeout = HTTP_LIMITS.idleTimeoutMs;
      let scrapes = 0;
      const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const url = (req.url ?? '/').split('?')[0];
        const send = (
          code: number,
          body: string | Buffer,
          type = 'text/plain; charset=utf-8',
          extra: http.OutgoingHttpHeaders = {},
        ) => {
          if (res.destroyed) return;
          res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...extra });
          res.end(req.method === 'HEAD' ? undefined : body);
        };
        if (req.method !== 'GET' && req.method !== 'HEAD')
          return send(405, 'method not allowed\n', undefined, { connection: 'close' });
        // No endpoint takes a body: refused unread, and the connection closed rather than drained.
        if (req.headers['transfer-encoding'] || Number(req.headers['content-length'] ?? 0) > 0)
          return send(413, 'request bodies are not accepted\n', undefined, { connection: 'close' });
        try {
          if (url === '/metrics') {
            if (scrapes >= HTTP_LIMITS.maxScrapesInFlight)
              return send(503, 'too many scrapes at once; try again\n', undefined, { 'retry-after': '1' });
            scrapes++;
            try {
              return send(200, await metrics.exposition(), metrics.contentType);
            } finally {
              scrapes--;
            }
          }
          if (url === '/healthz') {
            // Alive unless the loop stalled: passes run at least every resync.
            const last = rec.lastPass;
            const stale = last > 0 && Date.now() - last > 3 * resyncMs + 30_000;
            return stale || stopped ? send(503, 'reconcile loop stalled\n') : send(200, 'ok\n');
          }
          if (url === '/readyz') {
            if (stopped) return send(503, 'not ready: stopping\n');
            const lost = rec.namespaceProblem;
            if (lost) return send(503, `not ready: ${lost}\n`);
            return rec.ready
              ? send(200, 'ready\n')
              : send(503, 'not ready: the first sync has not completed\n');
          }
          return send(404, 'not found: try /metrics, /healthz or /readyz\n');
        } catch (e) {
          logger.warn({ url, err: (e as Error).message }, 'serving an HTTP request failed');
          return send(500, 'internal error\n');
        }
      };
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => {
          server!.off('error', reject);
          resolve();
        });
      });
      logger.info({ address: server.address() }, 'serving /metrics, /healthz and /readyz');
    }

    if (options.cniSocket) {
      // Loaded only when asked for; its requests run in this event loop, one at a time.
      const { startCniServer } = await import('../cni/server');
      const cniLog = logger.child({ component: 'cni' });
      cni = await startCniServer({
        socket: options.cniSocket,
        log: (level, msg, fields) => {
          // An ADD, DEL or GC may have changed a pod's interface the reconciler also shapes:
          // the reconciler looks again, so the pod source's QoS is what stays (README).
          if (msg === 'served' && CNI_CHANGES.has(String(fields?.command))) rec.externalChange();
          cniLog[level](fields ?? {}, msg);
        },
      });
    }

    let listed = false;
    await source.start({
      changed: (keys) => rec.changed(keys),
      synced: () => {
        rec.requestFull(listed ? 'resync' : 'start');
        listed = true;
      },
    });
    interval = setInterval(() => {
      source.rescan?.();
      rec.requestFull('resync');
    }, resyncMs);
  } catch (e) {
    await cleanup();
    throw e;
  }
  logger.info(
    {
      source: source.kind,
      manifests: options.manifests,
      node: options.nodeName,
      netns: options.netns ?? '(this one)',
      resyncSeconds: resyncMs / 1000,
      prefix,
      cniSocket: cni?.socket,
    },
    'agent started',
  );

  return {
    logger,
    source,
    reconciler: rec,
    metrics,
    get address() {
      const a = server?.address();
      return a && typeof a === 'object' ? a : undefined;
    },
    get ready() {
      return rec.ready;
    },
    get cni() {
      return cni;
    },
    whenReady: () => readyPromise,
    stop: async () => {
      if (stopped) return;
      logger.info('stopping');
      await cleanup();
      logger.info('stopped');
    },
  };
}
