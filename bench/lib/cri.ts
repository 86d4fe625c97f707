// A CRI v1 client (the kubelet's side of the Container Runtime Interface) for the end-to-end tests
// and the RunPodSandbox benchmark: the pod-sandbox calls and image status, over a runtime's unix
// socket, from the vendored api.proto (bench/lib/cri-api) with @grpc/grpc-js. Only what the
// tests use; messages keep the proto's snake_case field names.
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The vendored proto, found from the source tree and from dist/ alike. */
function protoFile(): string {
  let dir = __dirname;
  if (dir.split(path.sep).includes('dist')) dir = path.join(dir, '..', '..', '..', 'bench', 'lib');
  return path.join(dir, 'cri-api', 'api.proto');
}

export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  hostname?: string;
  log_directory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: Record<string, unknown>;
}

export interface PodSandboxStatus {
  id: string;
  state: string;
  network?: { ip: string; additional_ips?: { ip: string }[] };
}

type Call = (
  request: unknown,
  options: grpc.CallOptions,
  done: (e: grpc.ServiceError | null, r: any) => void,
) => void;

export class CriClient {
  private readonly runtime: grpc.Client & Record<string, Call>;
  private readonly images: grpc.Client & Record<string, Call>;

  /** `socket`: the runtime's unix socket (containerd's grpc address). */
  constructor(
    readonly socket: string,
    private readonly timeoutMs = 60_000,
  ) {
    const definition = protoLoader.loadSync(protoFile(), {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const v1 = (grpc.loadPackageDefinition(definition).runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
    const target = `unix://${socket}`;
    const Runtime = v1.RuntimeService as grpc.ServiceClientConstructor;
    const Images = v1.ImageService as grpc.ServiceClientConstructor;
    this.runtime = new Runtime(target, grpc.credentials.createInsecure()) as grpc.Client &
      Record<string, Call>;
    this.images = new Images(target, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Call>;
  }

  private call<T>(client: Record<string, Call>, method: string, request: unknown): Promise<T> {
    const call = client[method];
    if (!call) return Promise.reject(new Error(`CRI: the service has no method ${method}`));
    return new Promise((resolve, reject) =>
      // Called as the client's method: grpc-js's stubs need their client as `this`.
      call.call(client, request, { deadline: Date.now() + this.timeoutMs }, (e, r) =>
        e ? reject(e) : resolve(r as T),
      ),
    );
  }

  version(): Promise<{ runtime_name: string; runtime_version: string; runtime_api_version: string }> {
    return this.call(this.runtime, 'Version', {});
  }

  /** The runtime's conditions (RuntimeReady, NetworkReady). */
  async status(): Promise<{ type: string; status: boolean; reason: string; message: string }[]> {
    const r = await this.call<{ status: { conditions: never[] } }>(this.runtime, 'Status', {});
    return r.status.conditions;
  }

  /** RunPodSandbox: the new sandbox's id. */
  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const r = await this.call<{ pod_sandbox_id: string }>(this.runtime, 'RunPodSandbox', { config });
    return r.pod_sandbox_id;
  }

  /** PodSandboxStatus; `info` (verbose) is containerd's own JSON about the sandbox (its netns among it). */
  async podSandboxStatus(id: string): Promise<{ status: PodSandboxStatus; info: Record<string, string> }> {
    return this.call(this.runtime, 'PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.call(this.runtime, 'StopPodSandbox', { pod_sandbox_id: id });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.call(this.runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
  }

  async listPodSandbox(): Promise<PodSandboxStatus[]> {
    const r = await this.call<{ items: PodSandboxStatus[] }>(this.runtime, 'ListPodSandbox', {});
    return r.items;
  }

  /** Whether the runtime holds `image` (e.g. the sandbox image imported with ctr). */
  async hasImage(image: string): Promise<boolean> {
    const r = await this.call<{ image: unknown }>(this.images, 'ImageStatus', { image: { image } });
    return !!r.image;
  }

  close(): void {
    this.runtime.close();
    this.images.close();
  }
}
