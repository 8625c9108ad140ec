/**
 * Paging for list requests (issue 13 item 5: per-request read cost). A list
 * answers at most `listPageMax` items in id/name order and a `next` cursor
 * when more follow; the per-item reads run only for the page, yielding to
 * the event loop every few items so one request never holds it long.
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { RaftbusError } from "@raftbus/client/protocol";
import type { ErrorCode } from "@raftbus/client/protocol";

/** Items read between two yields to the event loop. */
const ITEMS_PER_SLICE = 64;

/** Candidates a page may examine per item it can hold: bounds the cost of a costly `keep`. */
const EXAMINED_PER_ITEM_MAX = 10;

/**
 * One page of `sorted` (ascending by `key`): the items after `after` that
 * pass `keep`, at most min(limit, max). `keep` may be costly (a pattern
 * test), so a page examines at most max × 10 candidates and may come back
 * short, with a cursor to go on from; `next` is absent only at the end.
 */
export function pageOf<T>(
  sorted: readonly T[], key: (item: T) => string, opts: { after?: string; limit?: number; max: number; keep?: (item: T) => boolean },
): { items: T[]; next?: string } {
  const size = Math.min(opts.limit ?? opts.max, opts.max);
  const items: T[] = [];
  let examined = 0;
  let lastExamined: string | undefined;
  for (const item of sorted) {
    const k = key(item);
    if (opts.after !== undefined && k <= opts.after) continue;
    if (items.length === size || examined === opts.max * EXAMINED_PER_ITEM_MAX) {
      return lastExamined === undefined ? { items } : { items, next: lastExamined };
    }
    examined++;
    lastExamined = k;
    if (opts.keep === undefined || opts.keep(item)) items.push(item);
  }
  return { items };
}

/**
 * Maps `items` through an async read, yielding to the event loop every few
 * items; stops early when `cancelled()`. A read that answers `GONE` (its
 * item was deleted after the page was listed: the reads run between applies)
 * leaves the item out instead of failing the whole list.
 */
export async function mapYielding<T, R>(items: readonly T[], read: (item: T) => Promise<R | typeof GONE>, cancelled: () => boolean): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % ITEMS_PER_SLICE === 0) {
      await yieldToLoop();
      if (cancelled()) break;
    }
    const r = await read(items[i] as T);
    if (r !== GONE) out.push(r);
  }
  return out;
}

/** What a page's per-item read answers for an item deleted since the page was listed. */
export const GONE: unique symbol = Symbol("gone");

/** `read`, or GONE when it fails with `notFound` (e.g. SUBSCRIPTION_NOT_FOUND). */
export async function unlessGone<R>(read: Promise<R>, notFound: ErrorCode): Promise<R | typeof GONE> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof RaftbusError && err.code === notFound) return GONE;
    throw err;
  }
}
