/**
 * The network a chaos run's nodes live on, and the faults it can inject.
 * Two implementations pass the same tests (fault-layer.test.ts):
 *
 * - {@link NetnsLayer}: each node in its own network namespace, veth pairs
 *   to a bridge in a namespace of its own (the host's network is never
 *   touched), nft drop rules for partitions;
 * - {@link LoopbackLayer}: everything on 127.0.0.1, partitions done by the
 *   proxies, for machines where namespaces cannot be created.
 *
 * In both, peer links pass through a per-node sidecar proxy (delay, loss,
 * reordering), and the runner reaches the nodes' client ports through
 * {@link FaultLayer.webSocketFactory} and {@link FaultLayer.http}.
 */
import type { ChildProcess, SpawnOptions } from "node:child_process";
import type { WebSocketFactory } from "@raftbus/client";
import type { Cuts, LinkFaults } from "./link-fault.ts";

/** How one node is started on this network. */
export interface NodeNet {
  readonly id: string;
  /** `--host`: the interface the node binds. */
  readonly bindHost: string;
  readonly peerPort: number;
  readonly clientPort: number;
  /** `--peers` for this node (the whole cluster as this node must dial it). */
  readonly peers: string;
}

/** An answer of a node's HTTP endpoint. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** See the module comment. */
export interface FaultLayer {
  readonly kind: "netns" | "loopback";
  /** Node ids, in order. */
  readonly ids: readonly string[];
  /** How to start node `id`. */
  net(id: string): NodeNet;
  /** The address pair `cluster add-node` must be given to re-add `id`, or undefined when this layer cannot re-add it. */
  readdAddress(id: string): { peerAddress: string; clientAddress: string } | undefined;
  /** Spawn a process on node `id`'s network. */
  spawn(id: string, command: string, args: readonly string[], options: SpawnOptions): ChildProcess;
  /** Sockets for the SDK: maps every node's advertised client address to one the runner can reach. */
  readonly webSocketFactory: WebSocketFactory;
  /** GET `path` on node `id`'s client port; status 0 when unreachable. */
  http(id: string, path: string, timeoutMs: number): Promise<HttpAnswer>;
  /** Replace the current faults: cut pairs plus per-direction link faults. */
  setFaults(cuts: Cuts, faults: LinkFaults): Promise<void>;
  /** Counters of every sidecar proxy, by node. */
  proxyStats(): Promise<Record<string, Record<string, number>>>;
  /** Stop the sidecars (namespaces and processes go with the registry). */
  close(): Promise<void>;
}
