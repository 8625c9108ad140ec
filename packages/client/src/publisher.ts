/**
 * The high-throughput publisher: batches, a bounded window, idempotent resends.
 *
 * - Batching: accepted messages gather in one batch, sent as one publish
 *   request when it holds `batchMessagesMax` messages or `batchBytesMax`
 *   bytes, or `lingerMs` after its first message.
 * - Window: at most `windowMax` messages are accepted and not yet settled
 *   (committed or failed). `publish()` resolves once its message is accepted;
 *   when the window is full it waits for room. That wait is the backpressure:
 *   a caller that awaits `publish()` never holds more than `windowMax`
 *   messages in memory. A caller that does not await gets BACKPRESSURE once
 *   another `windowMax` publishes wait for room — nothing grows without bound.
 * - Idempotence: every message carries (producerId, sequence). A batch whose
 *   outcome is unknown (connection lost, leader changed) is resent with the
 *   same sequences, and the server stores each (producerId, sequence) once
 *   within its dedup window: no duplicates in the log.
 * - Order: batches go out in acceptance order and, without failures, commit
 *   in that order; a batch that is resent may commit after later ones.
 */
import {
  DEFAULT_SERVER_LIMITS, RaftbusError,
  type PublishMessage,
} from "./protocol/index.ts";
import type { Payload } from "./payload.ts";
import {
  buildMessage, estimateMessageBytes, sealForPublish, isRetryableOutcome, PUBLISH_ATTEMPTS_MAX, PUBLISH_RETRY_BACKOFF,
  type PublishOptions, type PublishResult,
} from "./publish.ts";
import type { Session } from "./session.ts";
import { backoffDelayMs } from "./util/backoff.ts";
import { randomId } from "./util/ids.ts";
import { deferred, sleep, type Deferred, type TimerHandle } from "./util/timers.ts";

/** Options of {@link Publisher}. */
export interface PublisherOptions {
  /** Most messages in one publish request (default 500; capped by the server's maxBatchMessages). */
  readonly batchMessagesMax?: number;
  /** Most estimated bytes in one publish request (default 512 KiB; capped below the server's maxFrameBytes). */
  readonly batchBytesMax?: number;
  /** How long a batch waits for more messages after its first, in ms (default 2). */
  readonly lingerMs?: number;
  /** Most messages accepted and not yet committed or failed (default 1000). */
  readonly windowMax?: number;
  /** Idempotent producer id (default: a random id). Reuse it only for a producer that continues the same sequence. */
  readonly producerId?: string;
  /** Deadline from sending a batch to its commit, including resends after failover, in ms (default 30000). */
  readonly timeoutMs?: number;
}

/** A message accepted into the window. */
export interface PendingPublish {
  /** The message's producer sequence (1, 2, 3… in acceptance order). */
  readonly sequence: number;
  /**
   * Resolves once committed; rejects with the message's error. Rejections are
   * also reported by {@link Publisher.flush}, so ignoring this is safe.
   */
  readonly committed: Promise<PublishResult>;
}

interface Entry {
  readonly message: PublishMessage;
  readonly bytes: number;
  readonly result: Deferred<PublishResult>;
}

const DEFAULTS = { batchMessagesMax: 500, batchBytesMax: 512 * 1024, lingerMs: 2, windowMax: 1000, timeoutMs: 30_000 } as const;
/** Head-room left in a frame for the request envelope around a batch. */
const FRAME_OVERHEAD_BYTES = 1024;

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RaftbusError("INVALID_ARGUMENT", `publisher ${name} must be a positive integer, got ${value}`);
  return value;
}

/** Batching, windowed, idempotent publisher. Create with `client.publisher()`. */
export class Publisher {
  /** The idempotent producer id stamped on every message. */
  readonly producerId: string;

  readonly #session: Session;
  readonly #batchMessagesMax: number;
  readonly #batchBytesMax: number;
  readonly #lingerMs: number;
  readonly #windowMax: number;
  readonly #timeoutMs: number;
  #sequence = 0;
  /** Accepted and not settled; never above windowMax. */
  #window = 0;
  /** Publishes waiting for room, FIFO; never more than windowMax. */
  readonly #roomWaiters: Deferred<void>[] = [];
  #batch: Entry[] = [];
  #batchBytes = 0;
  #linger: TimerHandle | undefined;
  readonly #inflight = new Set<Promise<void>>();
  #failed = 0;
  #firstFailure: RaftbusError | undefined;
  #closed = false;
  readonly #onClose: (() => void) | undefined;

  /** Use `client.publisher()`. */
  constructor(session: Session, options: PublisherOptions = {}, onClose?: () => void) {
    this.#session = session;
    this.#onClose = onClose;
    this.#batchMessagesMax = positiveInt("batchMessagesMax", options.batchMessagesMax ?? DEFAULTS.batchMessagesMax);
    this.#batchBytesMax = positiveInt("batchBytesMax", options.batchBytesMax ?? DEFAULTS.batchBytesMax);
    this.#windowMax = positiveInt("windowMax", options.windowMax ?? DEFAULTS.windowMax);
    this.#timeoutMs = positiveInt("timeoutMs", options.timeoutMs ?? DEFAULTS.timeoutMs);
    const lingerMs = options.lingerMs ?? DEFAULTS.lingerMs;
    if (!Number.isFinite(lingerMs) || lingerMs < 0) throw new RaftbusError("INVALID_ARGUMENT", `publisher lingerMs must be ≥ 0, got ${lingerMs}`);
    this.#lingerMs = lingerMs;
    this.producerId = options.producerId ?? `${session.clientId}.${randomId(8)}`;
  }

  /** Messages accepted and not yet committed or failed. */
  get inFlight(): number {
    return this.#window;
  }

  /**
   * Accept a message into the window, waiting for room when it is full.
   * @throws RaftbusError INVALID_ARGUMENT/PAYLOAD_TOO_LARGE for a bad message,
   *   BACKPRESSURE when `windowMax` publishes already wait for room,
   *   CONNECTION_CLOSED when the publisher or client is closed.
   */
  async publish(topic: string, payload: Payload, options: PublishOptions = {}): Promise<PendingPublish> {
    this.#assertOpen();
    const limits = this.#session.limits ?? DEFAULT_SERVER_LIMITS;
    // Encryption (asynchronous) first: buildMessage then signs the ciphertext, as client.publish does.
    // Only then is there an await before the window: unencrypted publishes keep their call order.
    const sealed = options.encrypt === undefined ? { payload, options } : await sealForPublish(topic, payload, options);
    const base = buildMessage(topic, sealed.payload, sealed.options, limits);
    await this.#room();
    if (this.#closed || this.#session.isClosed) {
      this.#release();
      throw new RaftbusError("CONNECTION_CLOSED", "publisher closed");
    }
    const sequence = ++this.#sequence;
    const message: PublishMessage = { ...base, producerId: this.producerId, sequence };
    const entry: Entry = { message, bytes: estimateMessageBytes(message), result: deferred() };
    // Failures are counted for flush(); this keeps an unobserved rejection from crashing the process.
    entry.result.promise.then(undefined, () => undefined);
    this.#append(entry);
    return { sequence, committed: entry.result.promise };
  }

  /**
   * Send the current batch now and wait until every message accepted so far
   * is committed or failed.
   * @throws RaftbusError the first failure since the previous flush, when any
   *   message failed (details.failed counts them).
   */
  async flush(): Promise<void> {
    if (this.#batch.length > 0) this.#sendBatch();
    await Promise.all([...this.#inflight]);
    const failure = this.#firstFailure;
    const failed = this.#failed;
    this.#firstFailure = undefined;
    this.#failed = 0;
    if (failure !== undefined) {
      throw new RaftbusError(failure.code, `${failed} message(s) failed since the last flush; first: ${failure.message}`, {
        ...(failure.leaderHint !== undefined ? { leaderHint: failure.leaderHint } : {}),
        details: { ...failure.details, failed },
      });
    }
  }

  /** Refuse new messages, fail those waiting for room, and flush the rest. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const closed = new RaftbusError("CONNECTION_CLOSED", "publisher closed");
      for (const waiter of this.#roomWaiters.splice(0)) waiter.reject(closed);
    }
    try {
      await this.flush();
    } finally {
      this.#onClose?.();
    }
  }

  #assertOpen(): void {
    if (this.#closed || this.#session.isClosed) throw new RaftbusError("CONNECTION_CLOSED", "publisher closed");
  }

  /** Reserve one slot of the window (the releaser hands its slot straight to the first waiter). */
  #room(): Promise<void> | undefined {
    if (this.#window < this.#windowMax && this.#roomWaiters.length === 0) {
      this.#window++;
      return undefined;
    }
    if (this.#roomWaiters.length >= this.#windowMax) {
      throw new RaftbusError("BACKPRESSURE", `publish window full (${this.#windowMax}) and ${this.#roomWaiters.length} publishes already wait: await publish() before publishing more`);
    }
    const waiter = deferred<void>();
    this.#roomWaiters.push(waiter);
    return waiter.promise;
  }

  #release(): void {
    const next = this.#roomWaiters.shift();
    if (next !== undefined) next.resolve();
    else this.#window--;
  }

  #limits(): { messages: number; bytes: number } {
    const limits = this.#session.limits ?? DEFAULT_SERVER_LIMITS;
    return {
      messages: Math.min(this.#batchMessagesMax, limits.maxBatchMessages),
      bytes: Math.max(1, Math.min(this.#batchBytesMax, limits.maxFrameBytes - FRAME_OVERHEAD_BYTES)),
    };
  }

  #append(entry: Entry): void {
    const max = this.#limits();
    if (this.#batch.length > 0 && this.#batchBytes + entry.bytes > max.bytes) this.#sendBatch();
    this.#batch.push(entry);
    this.#batchBytes += entry.bytes;
    if (this.#batch.length >= max.messages || this.#batchBytes >= max.bytes) this.#sendBatch();
    else this.#linger ??= setTimeout(() => this.#sendBatch(), this.#lingerMs);
  }

  #sendBatch(): void {
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#linger = undefined;
    const entries = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    if (entries.length === 0) return;
    const sending = this.#send(entries).finally(() => this.#inflight.delete(sending));
    this.#inflight.add(sending);
  }

  /** Send a batch until every message is settled; resend retryable ones with their sequences unchanged. */
  async #send(entries: readonly Entry[]): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    let pending = entries;
    let lastError: RaftbusError | undefined;
    for (let attempt = 1; pending.length > 0 && attempt <= PUBLISH_ATTEMPTS_MAX && Date.now() < deadline; attempt++) {
      let results;
      try {
        const response = await this.#session.request("publish", { messages: pending.map((e) => e.message) }, {
          idempotent: true,
          timeoutMs: Math.max(1, deadline - Date.now()),
        });
        results = response.results;
      } catch (err) {
        if (!(err instanceof RaftbusError)) throw err;
        for (const entry of pending) this.#settle(entry, err);
        return;
      }
      if (results.length !== pending.length) {
        const err = new RaftbusError("BAD_REQUEST", `publish of ${pending.length} messages got ${results.length} results`);
        for (const entry of pending) this.#settle(entry, err);
        return;
      }
      const retry: Entry[] = [];
      results.forEach((outcome, i) => {
        const entry = pending[i];
        if (entry === undefined) return;
        if (outcome.ok) this.#settle(entry, outcome.ack);
        else if (isRetryableOutcome(outcome.error.code)) {
          retry.push(entry);
          lastError = RaftbusError.fromInfo(outcome.error);
        } else this.#settle(entry, RaftbusError.fromInfo(outcome.error));
      });
      pending = retry;
      if (pending.length > 0) await sleep(Math.min(backoffDelayMs(attempt, PUBLISH_RETRY_BACKOFF, this.#session.random), deadline - Date.now()));
    }
    const timeout = new RaftbusError("TIMEOUT", `message not committed within ${this.#timeoutMs} ms${lastError ? ` (last error ${lastError.code}: ${lastError.message})` : ""}`);
    for (const entry of pending) this.#settle(entry, timeout);
  }

  #settle(entry: Entry, outcome: PublishResult | RaftbusError): void {
    if (outcome instanceof RaftbusError) {
      this.#failed++;
      this.#firstFailure ??= outcome;
      entry.result.reject(outcome);
    } else {
      entry.result.resolve(outcome);
    }
    this.#release();
  }
}
