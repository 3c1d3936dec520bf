/**
 * Runs Pulumi program code under `pulumi.runtime.setMocks` (the official unit
 * test approach: no engine, no provider plugins) and records every resource
 * registration: type, name, inputs, parent, options. `call` throws on any
 * invoke the test did not expect.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly inputs: Record<string, any>;
  readonly parent: string;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly dependencies: readonly string[];
  readonly provider: string;
}

export interface MockRun<T> {
  readonly result: T;
  readonly resources: readonly RecordedResource[];
}

type CallHandler = (args: pulumi.runtime.MockCallArgs) => Record<string, any> | undefined;

function unsecret(v: any): any {
  if (Array.isArray(v)) return v.map(unsecret);
  if (v && typeof v === "object") {
    if (v["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270") return unsecret(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unsecret(x)]));
  }
  return v;
}

/**
 * What the provider computes and the program reads back: a file's commit
 * (RepositoryFile.commitSha, which the pipeline's pin is). Derived from the
 * inputs, so the same content gives the same commit and a change a new one.
 */
export function computedOutputs(type: string, inputs: Record<string, any>): Record<string, any> {
  if (type !== "github:index/repositoryFile:RepositoryFile") return {};
  return { commitSha: createHash("sha1").update(`${inputs.repository}\0${inputs.file}\0${inputs.content}`).digest("hex") };
}

/**
 * Runs `program` under mocks and waits until every registration has landed.
 * One process can run this several times: each run gets fresh mocks.
 */
export async function runUnderMocks<T>(program: () => T, opts: { call?: CallHandler; preview?: boolean } = {}): Promise<MockRun<T>> {
  const byUrn = new Map<string, Partial<RecordedResource>>();
  let registrations = 0;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computedOutputs(args.type, args.inputs) } };
      },
      call(args) {
        const r = opts.call?.(args);
        if (r === undefined) throw new Error(`unexpected call ${args.token} ${JSON.stringify(args.inputs)}`);
        return r;
      },
    },
    "mirror-fleet",
    "prod",
    opts.preview ?? false,
  );
  const monitor = settings.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, cb: any) => {
    registrations++;
    return register(req, (err: any, resp: any) => {
      if (!err) {
        const urn: string = resp.getUrn();
        byUrn.set(urn, {
          type: req.getType(),
          name: req.getName(),
          urn,
          parent: req.getParent(),
          protect: req.getProtect() === true,
          retainOnDelete: req.getRetainondelete() === true,
          dependencies: req.getDependenciesList(),
          provider: req.getProvider(),
          inputs: unsecret(pulumi.runtime.deserializeProperties(req.getObject())),
        });
      }
      cb(err, resp);
    });
  };
  const result = program();
  // Registrations wait for their inputs, some of which the program reads
  // from GitHub first: wait for every pending RPC, then for the count to settle.
  await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  // Registrations are asynchronous: wait until the count has been stable for a while (bounded).
  let last = -1;
  let stable = 0;
  for (let i = 0; i < 5000 && stable < 25; i++) {
    await new Promise((r) => setTimeout(r, 1));
    const done = byUrn.size;
    if (done === last && done === registrations) stable++;
    else stable = 0;
    last = done;
  }
  return { result, resources: [...byUrn.values()] as RecordedResource[] };
}

/** The one resource of `type` whose name is `name`; throws with the names that exist. */
export function child(resources: readonly RecordedResource[], type: string, name: string): RecordedResource {
  const found = resources.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) {
    const names = resources.filter((r) => r.type === type).map((r) => r.name);
    throw new Error(`expected one ${type} named ${name}, found ${found.length} (have: ${names.join(", ")})`);
  }
  return found[0];
}

export function ofType(resources: readonly RecordedResource[], type: string): RecordedResource[] {
  return resources.filter((r) => r.type === type);
}
