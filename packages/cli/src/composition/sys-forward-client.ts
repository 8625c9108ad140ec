/**
 * How a follower's system events reach the leader: over the client path,
 * with the SDK (it finds and follows the leader by itself), as `sys.forward`
 * requests authenticated by a MAC under a key derived from the cluster
 * secret. One connection per node, opened on first use and closed with the
 * node; every call is bounded by the SDK's request timeout, and the bus
 * drops (and counts) what cannot be delivered.
 */
import { connect } from "@raftbus/client/node";
import type { RaftbusClient } from "@raftbus/client/node";
import type { SysForwardRequest } from "@raftbus/client/protocol";
import { clientAddress } from "@raftbus/broker";
import type { NodeServer, NodeTls, PeerSpec, SysForwarder } from "@raftbus/broker";

/** A forward request waits at most this long (the bus retries, then drops). */
const FORWARD_TIMEOUT_MS = 5000;

/** See the module comment. */
export class SysForwardClient implements SysForwarder {
  private client: Promise<RaftbusClient> | undefined;
  private server: NodeServer | undefined;
  private closed = false;

  /**
   * `token` is this node's client credential (nodeToken: derived from the cluster secret);
   * `tls` the node's TLS material when the cluster runs TLS (members are then reached over wss, checked against its CA).
   */
  constructor(private readonly nodeId: string, private readonly seeds: readonly PeerSpec[], private readonly token: string, private readonly tls?: NodeTls) {}

  /** The node whose member list names the servers (members learned at runtime included). */
  attach(server: NodeServer): void {
    this.server = server;
  }

  /** Send one batch to the leader. */
  async forward(request: SysForwardRequest): Promise<void> {
    if (this.closed) throw new Error("node stopping");
    const client = await this.connection();
    await client.sys.forward(request, { timeoutMs: FORWARD_TIMEOUT_MS });
  }

  private connection(): Promise<RaftbusClient> {
    if (this.client === undefined) {
      const servers = (this.server === undefined ? [...this.seeds] : [...this.server.memberSpecs().values()]).map((p) => clientAddress(p, this.tls !== undefined));
      const pending = connect({ servers, name: `raftbus-node-${this.nodeId}`, timeoutMs: FORWARD_TIMEOUT_MS, token: this.token, ...(this.tls !== undefined ? { tls: { ca: this.tls.ca } } : {}) });
      // A failed connect is forgotten, so the next batch tries again.
      pending.catch(() => {
        if (this.client === pending) this.client = undefined;
      });
      this.client = pending;
    }
    return this.client;
  }

  /** Close the connection (the node stops). */
  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    if (c !== undefined) await c.then((x) => x.close()).catch(() => undefined);
  }
}
