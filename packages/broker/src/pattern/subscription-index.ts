/**
 * Which subscriptions want a topic (SPEC.md §4), looked up once per published
 * message on every replica.
 *
 * - Exact and wildcard patterns live in a {@link SegmentTrie}: a lookup costs
 *   about (topic depth × trie states reached), not the number of subscriptions.
 * - Regex patterns (and any CompiledPattern not made by compilePattern) are
 *   filed under the literal text every topic they match starts with (a
 *   {@link PrefixTrie}); a lookup runs only the regexes whose prefix the topic
 *   starts with. Regexes with nothing fixed up front (`/.*x/`) are run on
 *   every lookup: that cost is LINEAR in their number, each run bounded by
 *   the safe regex engine and all of them by the cluster's regex-state budget.
 *
 * - The regex results of recently matched topics are cached (bounded, and
 *   emptied whenever a regex subscription comes or goes), so a stream of
 *   publishes to the same topics pays the regex scan once, not per message.
 *   The cache changes no result, only its cost: replicas with different
 *   cache contents still match identically.
 *
 * Results are ordered by subscription id, ascending in UTF-16 code-unit
 * order (never locale order), so every replica dispatches identically.
 */
import { TOPIC_NAME_BYTES_MAX } from "../topic/topic-name.ts";
import { patternSegments } from "./pattern.ts";
import { PrefixTrie } from "./prefix-trie.ts";
import type { CompiledPattern } from "./pattern.ts";
import { SegmentTrie, compareIds } from "./segment-trie.ts";

/** Topics whose regex matches are cached at most. */
const SCAN_CACHE_TOPICS_MAX = 4096;
/** Ids (plus one per topic) the cache holds at most: bounds its memory whatever matches what. */
const SCAN_CACHE_IDS_MAX = 262_144;

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
  /** Regex (and foreign) patterns by literal prefix: those the topic starts with are run on every match not in the cache. */
  private readonly scanned = new PrefixTrie<Entry<T>>();
  /** Topic → ids of the scanned patterns matching it (insertion order = age, for eviction). */
  private readonly scanCache = new Map<string, readonly string[]>();
  /** Ids held by scanCache, bounded by SCAN_CACHE_IDS_MAX. */
  private scanCacheIds = 0;
  private regexStateTotal = 0;
  private regexRunTotal = 0;

  /** Regex patterns with no literal prefix: run on every topic not in the cache. */
  get unprefixedRegexes(): number {
    return this.scanned.unprefixed;
  }

  /** Regex (scanned pattern) runs so far: a lookup runs only those its topic's prefix selects (tests bound it). */
  get regexRuns(): number {
    return this.regexRunTotal;
  }

  /** NFA states of every regex subscription held (SUBSCRIPTION_LIMITS.regexStatesMax bounds it). */
  get regexStates(): number {
    return this.regexStateTotal;
  }

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
    if (segments === undefined) {
      this.scanned.insert(pattern.literalPrefix ?? "", id, entry);
      this.regexStateTotal += pattern.regexStates ?? 0;
      this.clearScanCache();
    } else {
      this.trie.insert(segments, id);
    }
  }

  /** Removes subscription `id`; removing an absent id does nothing. */
  remove(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    if (entry.segments === undefined) {
      this.scanned.delete(entry.pattern.literalPrefix ?? "", id);
      this.regexStateTotal -= entry.pattern.regexStates ?? 0;
      this.clearScanCache();
    } else {
      this.trie.delete(entry.segments, id);
    }
  }

  /** Values of the subscriptions matching `topic`, each once, by id ascending. */
  match(topic: string): T[] {
    // No topic can be longer; also bounds the split and trie walk below.
    if (topic.length > TOPIC_NAME_BYTES_MAX) return [];
    const lists: (readonly string[])[] = [];
    this.trie.collect(topic.split("."), lists);
    if (this.scanned.size > 0) {
      const found = this.scanMatches(topic);
      if (found.length > 0) lists.push(found);
    }
    // Each list is sorted already: one (the usual case, e.g. thousands of filters on one wildcard) needs no sort.
    const ids = lists.length === 1 ? (lists[0] as readonly string[]) : lists.flat().sort(compareIds);
    return ids.map((id) => (this.entries.get(id) as Entry<T>).value);
  }

  /** Ids of the scanned (regex) patterns matching `topic`, from the cache or by running each. */
  private scanMatches(topic: string): readonly string[] {
    const cached = this.scanCache.get(topic);
    if (cached !== undefined) return cached;
    const found: string[] = [];
    for (const [id, entry] of this.scanned.under(topic)) {
      this.regexRunTotal++;
      if (entry.pattern.matches(topic)) found.push(id);
    }
    found.sort(compareIds);
    if (found.length + 1 <= SCAN_CACHE_IDS_MAX) {
      // Evict the oldest topics until the new entry fits (each counts its ids plus one).
      while (this.scanCacheIds + found.length + 1 > SCAN_CACHE_IDS_MAX || this.scanCache.size >= SCAN_CACHE_TOPICS_MAX) {
        const [oldest, ids] = this.scanCache.entries().next().value as [string, readonly string[]];
        this.scanCache.delete(oldest);
        this.scanCacheIds -= ids.length + 1;
      }
      this.scanCache.set(topic, found);
      this.scanCacheIds += found.length + 1;
    }
    return found;
  }

  private clearScanCache(): void {
    this.scanCache.clear();
    this.scanCacheIds = 0;
  }
}
