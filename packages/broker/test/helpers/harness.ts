/**
 * Test harness: a BrokerStateMachine in a temporary directory, fed commands
 * as Raft entries with consecutive indexes and a controllable leader clock.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import type { PublishMessage } from "@raftbus/client/protocol";
import { BrokerStateMachine, deliverCommand, encodeCommand } from "../../src/index.ts";
import type {
  BrokerConfig, Command, CommandResult, ConsumerCredit, DeliveredItem, DeliveryBatch, DeliveryCommand, PublishCommand, ResultOf, SubscriptionRequest,
} from "../../src/index.ts";
import type { Entry } from "../../src/raft-api.ts";

/** A fixed starting clock (ms since epoch) so runs are reproducible. */
export const T0 = 1_700_000_000_000;

/** Directories made by tempDir() in this test file. */
const made: string[] = [];

// Whatever a test file made is removed when the file is done (a failed test included).
afterAll(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Makes a fresh temporary directory, removed after the test file. */
export async function tempDir(prefix = "raftbus-broker-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A broker plus a log index counter and a clock. */
export class Harness {
  index = 0;
  now = T0;
  private generated = 0;
  /** Every entry applied, in order (to replay into another broker). */
  readonly log: Entry[] = [];

  private constructor(public bsm: BrokerStateMachine, readonly dir: string, readonly config: Partial<BrokerConfig>) {}

  /** Opens a broker in a new temporary directory. */
  static async open(config: Partial<BrokerConfig> = {}): Promise<Harness> {
    const dir = await tempDir();
    return new Harness(await BrokerStateMachine.open(dir, config), dir, config);
  }

  /** Advances the leader clock. */
  advance(ms: number): void {
    this.now += ms;
  }

  /** Applies commands as consecutive entries in ONE apply() call. */
  async applyAll(commands: readonly (Command | Entry)[]): Promise<(CommandResult | undefined)[]> {
    const entries = commands.map((c) => this.entry(c));
    this.log.push(...entries);
    return this.bsm.apply(entries);
  }

  /** Applies one command; returns its result (asserting it exists). */
  async run(command: Command): Promise<CommandResult> {
    const [r] = await this.applyAll([command]);
    if (r === undefined) throw new Error("no result");
    return r;
  }

  /** Applies one command and returns its successful result, failing the test on an error result. */
  async ok<T extends Command["type"]>(command: Command & { type: T }): Promise<ResultOf<T>> {
    const r = await this.run(command);
    if (!r.ok) throw new Error(`${command.type} failed: ${r.error.code} ${r.error.message}`);
    return r as ResultOf<T>;
  }

  /** Applies raw entry data (for hostile-entry tests). */
  async applyRaw(data: Uint8Array): Promise<CommandResult | undefined> {
    const [r] = await this.applyAll([{ index: this.index + 1, term: 1, type: "normal", data }]);
    return r;
  }

  /** A publish command for `messages` at the current clock. */
  publishCommand(messages: readonly PublishMessage[], senderId = "test-sender"): PublishCommand {
    return this.bsm.buildPublish({ now: this.now, senderId, messages, newId: this.idSource() });
  }

  /** Publishes messages and returns the publish result. */
  async publish(messages: readonly PublishMessage[]): Promise<ResultOf<"publish">> {
    return this.ok(this.publishCommand(messages));
  }

  /** Publishes one message with a JSON payload. */
  async pub(topic: string, body: unknown = {}, extra: Partial<PublishMessage> = {}): Promise<ResultOf<"publish">> {
    return this.publish([{ topic, payload: json(body), ...extra }]);
  }

  /** Creates a subscription from a request with defaults. */
  async subscribe(req: SubscriptionRequest): Promise<ResultOf<"createSubscription">> {
    return this.ok({ type: "createSubscription", now: this.now, subscription: this.bsm.subscriptionSpec(req) });
  }

  /** Runs a tick at the current clock. */
  async tick(): Promise<ResultOf<"tick">> {
    return this.ok({ type: "tick", now: this.now });
  }

  /** One dispatch round for `consumers`, applied as ONE deliver command (nothing when nothing is planned). */
  async dispatch(consumers: readonly ConsumerCredit[], maxDeliveries?: number): Promise<{ batches: DeliveryBatch[]; delivered: DeliveredItem[] }> {
    const batches = await this.bsm.dispatcher.nextDeliveries({ now: this.now, consumers, ...(maxDeliveries !== undefined ? { maxDeliveries } : {}) });
    if (batches.length === 0) return { batches, delivered: [] };
    const r = await this.ok(deliverCommand(batches, this.now));
    return { batches, delivered: [...r.delivered] };
  }

  /** Delivers to one consumer with `credit` and returns the accepted items as `topic@offset#attempt`. */
  async take(subscription: string, credit: number, consumerId = "c1"): Promise<string[]> {
    const { delivered } = await this.dispatch([{ subscription, consumerId, credit }]);
    return delivered.map((d) => `${d.topic}@${d.offset}#${d.attempt}`);
  }

  /** Acks messages given as `topic@offset` (one delivery entry). */
  async ack(subscription: string, refs: readonly string[]): Promise<ResultOf<"delivery">> {
    return this.ok(ackCommand(this.now, subscription, refs));
  }

  /** Fails messages given as `topic@offset` (one delivery entry). */
  async fail(subscription: string, refs: readonly string[], reason = "boom"): Promise<ResultOf<"delivery">> {
    return this.ok(failCommand(this.now, subscription, refs, reason));
  }

  /** Closes and reopens the broker on the same directory. */
  async restart(): Promise<void> {
    await this.bsm.close();
    this.bsm = await BrokerStateMachine.open(this.dir, this.config);
  }

  /** Closes the broker and deletes its directory. */
  async destroy(): Promise<void> {
    await this.bsm.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  private entry(c: Command | Entry): Entry {
    this.index += 1;
    if ("index" in c && "term" in c) return { ...c, index: this.index };
    return { index: this.index, term: 1, type: "normal", data: encodeCommand(c) };
  }

  private idSource(): () => string {
    return () => `gen-${(this.generated += 1)}`;
  }
}

/** A delivery command acking `refs` (`topic@offset`) of `subscription`. */
export function ackCommand(now: number, subscription: string, refs: readonly string[]): DeliveryCommand {
  return { type: "delivery", now, delivered: [], acked: refs.map((r) => ({ subscription, ...parseRef(r) })), failed: [] };
}

/** A delivery command failing `refs` (`topic@offset`) of `subscription`. */
export function failCommand(now: number, subscription: string, refs: readonly string[], reason = "boom"): DeliveryCommand {
  return { type: "delivery", now, delivered: [], acked: [], failed: refs.map((r) => ({ subscription, ...parseRef(r), reason })) };
}

/** JSON payload bytes. */
export function json(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v));
}

/** `topic@offset` (an optional `#attempt` suffix is ignored) → MessageRef. */
export function parseRef(ref: string): { topic: string; offset: number } {
  const [topic, rest] = ref.split("@");
  return { topic: topic ?? "", offset: Number((rest ?? "").split("#")[0]) };
}

/** Drops the `#attempt` suffixes. */
export function refsOf(items: readonly string[]): string[] {
  return items.map((s) => s.split("#")[0] ?? s);
}
