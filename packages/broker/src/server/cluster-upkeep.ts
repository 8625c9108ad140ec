/**
 * Leader-only upkeep of cluster-wide records, each written only when
 * something is missing (an idle, settled cluster writes nothing):
 *
 * - a fresh cluster's version: the first leader sets it to the highest
 *   version every member implements, once it has heard from all of them
 *   (an existing cluster is raised only by `cluster finalize-upgrade`);
 * - the replicated address book (cluster version ≥ 2): members the leader
 *   knows an address for and the book lacks — the static peer list, and
 *   members added before the book existed — are recorded.
 */
import type { Logger, RaftNode } from "@raftbus/raft";
import type { BrokerStateMachine } from "../broker-state-machine.ts";
import { MEMBER_BOOK_VERSION } from "../state/members.ts";
import { effectiveVersion } from "../version/cluster-version.ts";
import type { NodeConfig } from "./config.ts";
import { raiseClusterVersion } from "./handlers/upgrade.ts";
import { commonVersion, memberVersions } from "./member-versions.ts";
import type { NodeServer } from "./node-server.ts";
import { proposeCommand } from "./proposer.ts";

/** How often the leader looks for missing records. */
const UPKEEP_INTERVAL_MS = 2000;

/**
 * How soon a round that could not set a new cluster's version runs again (a
 * member still starting): requests needing the version wait for it
 * (handlers/fresh-version.ts), so it should not wait a whole interval.
 */
const FRESH_VERSION_RETRY_MS = 250;

/** What the upkeep needs. */
export interface ClusterUpkeepParts {
  readonly config: NodeConfig;
  readonly raft: RaftNode<unknown>;
  readonly broker: BrokerStateMachine;
  readonly server: NodeServer;
  /** The `duties` component logger. */
  readonly logger: Logger;
}

/** See the module comment. Started when the node becomes leader, stopped when it stops leading. */
export class ClusterUpkeep {
  private timer: ReturnType<typeof setInterval> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private stopped = false;

  constructor(private readonly p: ClusterUpkeepParts) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), UPKEEP_INTERVAL_MS);
    this.timer.unref?.();
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.retry !== undefined) clearTimeout(this.retry);
  }

  /** One round; never throws (a failed proposal is retried next round). */
  async run(): Promise<void> {
    if (this.running || this.stopped || !this.p.raft.isLeader()) return;
    this.running = true;
    try {
      await this.maybeSetFreshVersion();
      await this.maybeRecordMembers();
    } catch (err) {
      this.p.logger.debug({ err: String(err) }, "cluster upkeep round failed; retrying next round");
    } finally {
      this.running = false;
      this.retrySoonWhileUnversioned();
    }
  }

  private retrySoonWhileUnversioned(): void {
    if (this.stopped || this.retry !== undefined || this.p.broker.clusterVersion() !== 0) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.run();
    }, FRESH_VERSION_RETRY_MS);
    this.retry.unref?.();
  }

  private async maybeSetFreshVersion(): Promise<void> {
    if (this.p.broker.clusterVersion() !== 0) return;
    const members = await memberVersions(this.p);
    const common = commonVersion(members);
    if (common === undefined || this.stopped) return;
    const version = await raiseClusterVersion(this.p, common);
    this.p.logger.info({ version, members }, "fresh cluster: cluster version set");
  }

  private async maybeRecordMembers(): Promise<void> {
    if (effectiveVersion(this.p.broker.clusterVersion()) < MEMBER_BOOK_VERSION) return;
    const conf = this.p.raft.status().appliedConf;
    const book = this.p.broker.members();
    const specs = this.p.server.memberSpecs();
    const missing = [...new Set([...conf.voters, ...conf.learners])].sort()
      .filter((id) => !book.has(id))
      .flatMap((id) => {
        const spec = specs.get(id);
        return spec === undefined ? [] : [{ id, host: spec.host, peerPort: spec.peerPort, clientPort: spec.clientPort }];
      });
    if (missing.length === 0 || this.stopped) return;
    const res = await proposeCommand(this.p.raft, this.p.broker.checkProposal({ type: "recordMembers", now: Date.now(), members: missing }) as { type: "recordMembers"; now: number; members: typeof missing });
    if (res.recorded.length > 0) this.p.logger.info({ recorded: res.recorded }, "member addresses recorded in the replicated state");
  }
}
