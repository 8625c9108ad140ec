/**
 * The servers a client may connect to: the configured ones plus the member
 * addresses the cluster announces (welcome `servers`, `members-changed`
 * pushes), as NATS clients learn `connect_urls`. The client never gets stuck
 * on one server: a server that failed it (refused or lost the connection,
 * had no leader for too long, is not a member) cools down while the others
 * are tried. Announced servers the cluster no longer lists are dropped;
 * configured ones are kept (the user named them) but tried after the
 * members.
 */

/** Most announced servers kept (a cluster is a handful of nodes; the bound is for a confused server). */
export const LEARNED_SERVERS_MAX = 64;

/** Where to connect next, and which servers to avoid for a while. */
export class ServerPool {
  readonly #configured: readonly string[];
  #learned: string[] = [];
  /** The latest member list announced by the cluster; undefined until one arrived. */
  #members: ReadonlySet<string> | undefined;
  readonly #coolUntil = new Map<string, number>();
  #cursor = 0;
  readonly #now: () => number;

  /** `configured` must be non-empty (connect() validated it). */
  constructor(configured: readonly string[], now: () => number = Date.now) {
    if (configured.length === 0) throw new Error("assertion failed: a server pool needs at least one server");
    this.#configured = [...configured];
    this.#now = now;
  }

  /** Every server known: configured first, then announced ones. */
  get all(): readonly string[] {
    return [...this.#configured, ...this.#learned.filter((s) => !this.#configured.includes(s))];
  }

  /** The cluster announced its members' addresses: add new ones, drop announced ones it no longer lists. */
  learn(servers: readonly string[]): void {
    const members = new Set(servers.slice(0, LEARNED_SERVERS_MAX));
    this.#members = members;
    this.#learned = [...members];
    for (const s of [...this.#coolUntil.keys()]) if (!this.all.includes(s)) this.#coolUntil.delete(s);
  }

  /** Avoid `server` for `ms` (while any other server is worth trying). */
  coolDown(server: string, ms: number): void {
    this.#coolUntil.set(server, Math.max(this.#coolUntil.get(server) ?? 0, this.#now() + ms));
  }

  /** True while `server` cools down. */
  isCooling(server: string): boolean {
    return (this.#coolUntil.get(server) ?? 0) > this.#now();
  }

  /**
   * The next server to try, round robin: members that are not cooling down
   * first, then configured servers the cluster does not list, and when every
   * server cools down the one that is ready soonest.
   */
  next(): string {
    const all = this.all;
    const listed = (s: string): boolean => this.#members === undefined || this.#members.has(s);
    for (const wanted of [(s: string) => listed(s) && !this.isCooling(s), (s: string) => !this.isCooling(s)]) {
      for (let i = 0; i < all.length; i++) {
        const s = all[(this.#cursor + i) % all.length] as string;
        if (wanted(s)) {
          this.#cursor = (this.#cursor + i + 1) % all.length;
          return s;
        }
      }
    }
    let best = all[0] as string;
    for (const s of all) if ((this.#coolUntil.get(s) ?? 0) < (this.#coolUntil.get(best) ?? 0)) best = s;
    return best;
  }
}
