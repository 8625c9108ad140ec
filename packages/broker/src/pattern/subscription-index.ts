/**
 * Which subscriptions want a topic (SPEC.md §4), looked up once per published
 * message on every replica.
 *
 * - Exact and wildcard patterns live in a {@link SegmentTrie}: a lookup costs
 *   about (topic depth × trie states reached), not the number of subscriptions.
 * - Regex patterns (and any CompiledPattern not made by compilePattern) sit
 *   in a list that every lookup scans: cost is LINEAR in the number of regex
 *   subscriptions, each run bounded by the safe regex engine.
 *
 * Results are ordered by subscription id, ascending in UTF-16 code-unit
 * order (never locale order), so every replica dispatches identically.
 */
import { TOPIC_NAME_BYTES_MAX } from "../topic/topic-name.ts";
import { patternSegments } from "./pattern.ts";
import type { CompiledPattern } from "./pattern.ts";
import { SegmentTrie } from "./segment-trie.ts";

interface Entry<T> {
  readonly pattern: CompiledPattern;
  readonly value: T;
  /** Set when the entry lives in the trie; undefined for the scanned list. */
  readonly segments: readonly string[] | undefined;
}

/** Subscriptions by id, matched against topics. */
export class SubscriptionIndex<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly trie = new SegmentTrie();
  /** Regex (and foreign) patterns: scanned on every match. */
  private readonly scanned = new Map<string, Entry<T>>();

  /** Number of subscriptions held. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Adds subscription `id`. Adding an id that is already present replaces its
   * pattern and value (an update), so the id is never matched twice.
   */
  add(id: string, pattern: CompiledPattern, value: T): void {
    this.remove(id);
    const segments = pattern.kind === "regex" ? undefined : patternSegments(pattern);
    const entry: Entry<T> = { pattern, value, segments };
    this.entries.set(id, entry);
    if (segments === undefined) this.scanned.set(id, entry);
    else this.trie.insert(segments, id);
  }

  /** Removes subscription `id`; removing an absent id does nothing. */
  remove(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    if (entry.segments === undefined) this.scanned.delete(id);
    else this.trie.delete(entry.segments, id);
  }

  /** Values of the subscriptions matching `topic`, each once, by id ascending. */
  match(topic: string): T[] {
    // No topic can be longer; also bounds the split and trie walk below.
    if (topic.length > TOPIC_NAME_BYTES_MAX) return [];
    const ids: string[] = [];
    this.trie.collect(topic.split("."), ids);
    for (const [id, entry] of this.scanned) if (entry.pattern.matches(topic)) ids.push(id);
    ids.sort(compareIds);
    return ids.map((id) => (this.entries.get(id) as Entry<T>).value);
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
