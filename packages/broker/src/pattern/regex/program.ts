/**
 * Thompson construction: a regex AST becomes an NFA "program" of at most
 * REGEX_STATES_MAX states, run by {@link runProgram} as a set-of-states
 * simulation (Thompson 1968; Cox, "Regular Expression Matching Can Be Simple
 * And Fast", 2007). Each input unit advances every live state once and a
 * state enters the set at most once per step, so a run costs
 * O(states × input) whatever the regex. There is no backtracking.
 */
import { RaftbusError } from "@raftbus/client/protocol";
import { charSetHas } from "./syntax.ts";
import type { CharSet, RegexNode } from "./syntax.ts";

/**
 * Most NFA states a regex compiles to. Counted repeats are unrolled, so
 * `(a{50}){50}` would need 2 500: refused. With inputs capped at 255 units a
 * run visits at most ~260 000 states, well under a millisecond. Stored
 * subscriptions are compiled against this when a node loads them, so it
 * never goes down (a lower value would refuse subscriptions already in the
 * log): new subscriptions get the tighter {@link REGEX_SUBSCRIBE_STATES_MAX}.
 */
export const REGEX_STATES_MAX = 1024;

/**
 * Most NFA states of a new regex subscription (the subscribe-time cost
 * budget, enforced in apply from cluster version 3): one match then takes at
 * most 256 × 255 ≈ 65 000 steps, and the cluster's regex subscriptions
 * together hold at most SUBSCRIPTION_LIMITS.regexStatesMax states.
 */
export const REGEX_SUBSCRIBE_STATES_MAX = 256;

const OP_CHAR = 0; // consume one unit in sets[arg], go to out1
const OP_SPLIT = 1; // epsilon to out1 and out2
const OP_ASSERT_START = 2; // epsilon to out1 at position 0 only
const OP_ASSERT_END = 3; // epsilon to out1 at the end of input only
const OP_MATCH = 4;

/** A compiled NFA with reusable scratch buffers (runs are synchronous, so sharing is safe). */
export interface Program {
  readonly op: Uint8Array;
  readonly out1: Int32Array;
  readonly out2: Int32Array;
  /** Index into `sets` for OP_CHAR states. */
  readonly arg: Int32Array;
  readonly sets: readonly CharSet[];
  readonly start: number;
  readonly scratch: Scratch;
}

interface Scratch {
  current: Int32Array;
  next: Int32Array;
  stack: Int32Array;
  /** `mark[s] === generation` means s is already in the set being built. */
  mark: Uint32Array;
  generation: number;
}

/** Compiles `node`; throws INVALID_PATTERN when it needs more than REGEX_STATES_MAX states. */
export function compileProgram(node: RegexNode, source: string): Program {
  const b = new Builder(source);
  const match = b.add(OP_MATCH, -1, -1, -1);
  const start = b.compile(node, match);
  const n = b.op.length;
  return {
    op: Uint8Array.from(b.op),
    out1: Int32Array.from(b.out1),
    out2: Int32Array.from(b.out2),
    arg: Int32Array.from(b.arg),
    sets: b.sets,
    start,
    scratch: { current: new Int32Array(n), next: new Int32Array(n), stack: new Int32Array(n * 2 + 2), mark: new Uint32Array(n), generation: 0 },
  };
}

class Builder {
  readonly op: number[] = [];
  readonly out1: number[] = [];
  readonly out2: number[] = [];
  readonly arg: number[] = [];
  readonly sets: CharSet[] = [];

  constructor(private readonly source: string) {}

  add(op: number, out1: number, out2: number, arg: number): number {
    // Checked per state, so even a huge unrolling stops after REGEX_STATES_MAX steps.
    if (this.op.length >= REGEX_STATES_MAX) {
      throw new RaftbusError("INVALID_PATTERN", `regex '${this.source}' is too complex: it needs more than ${REGEX_STATES_MAX} states (reduce counted repeats)`);
    }
    this.op.push(op);
    this.out1.push(out1);
    this.out2.push(out2);
    this.arg.push(arg);
    return this.op.length - 1;
  }

  /** Emits states for `node` that continue to state `next`; returns the entry state. */
  compile(node: RegexNode, next: number): number {
    switch (node.type) {
      case "empty": return next;
      case "char": {
        this.sets.push(node.set);
        return this.add(OP_CHAR, next, -1, this.sets.length - 1);
      }
      case "assert": return this.add(node.at === "start" ? OP_ASSERT_START : OP_ASSERT_END, next, -1, -1);
      case "concat": {
        let entry = next;
        for (let i = node.items.length - 1; i >= 0; i--) entry = this.compile(node.items[i] as RegexNode, entry);
        return entry;
      }
      case "alt": {
        let entry = this.compile(node.options[node.options.length - 1] as RegexNode, next);
        for (let i = node.options.length - 2; i >= 0; i--) {
          entry = this.add(OP_SPLIT, this.compile(node.options[i] as RegexNode, next), entry, -1);
        }
        return entry;
      }
      case "repeat": return this.compileRepeat(node.item, node.min, node.max, next);
    }
  }

  private compileRepeat(item: RegexNode, min: number, max: number, next: number): number {
    let entry: number;
    if (max === Infinity) {
      // loop: SPLIT(item → loop, next). A nullable item makes an epsilon cycle;
      // the simulation's per-step marks visit each state once, so it terminates.
      const loop = this.add(OP_SPLIT, -1, next, -1);
      this.out1[loop] = this.compile(item, loop);
      entry = loop;
    } else {
      // (item (item (…)?)?)? : each optional copy may stop and go to `next`.
      entry = next;
      for (let i = 0; i < max - min; i++) entry = this.add(OP_SPLIT, this.compile(item, entry), next, -1);
    }
    for (let i = 0; i < min; i++) entry = this.compile(item, entry);
    return entry;
  }
}

/** True when `program` matches the whole of `input` (UTF-16 code units). */
export function runProgram(program: Program, input: string): boolean {
  const s = program.scratch;
  let current = s.current;
  let next = s.next;
  bumpGeneration(s);
  let count = addState(program, current, 0, program.start, 0, input.length);
  for (let pos = 0; pos < input.length && count > 0; pos++) {
    const unit = input.charCodeAt(pos);
    let nextCount = 0;
    bumpGeneration(s); // once per step: a state joins `next` at most once
    for (let i = 0; i < count; i++) {
      const state = current[i] ?? 0;
      if (program.op[state] === OP_CHAR && charSetHas(program.sets[program.arg[state] ?? 0] as CharSet, unit)) {
        nextCount = addState(program, next, nextCount, program.out1[state] ?? 0, pos + 1, input.length);
      }
    }
    [current, next] = [next, current];
    count = nextCount;
  }
  for (let i = 0; i < count; i++) if (program.op[current[i] ?? 0] === OP_MATCH) return true;
  return false;
}

/**
 * Adds `state` and its epsilon closure at `pos` to `list`; returns the new
 * length. States marked in the current generation are skipped, so the whole
 * step (every call until the next bump) visits each state at most once, and
 * the stack holds at most two pushes per visited state.
 */
function addState(program: Program, list: Int32Array, length: number, state: number, pos: number, end: number): number {
  const s = program.scratch;
  const stack = s.stack;
  let top = 0;
  stack[top++] = state;
  let n = length;
  while (top > 0) {
    const st = stack[--top] ?? 0;
    if (s.mark[st] === s.generation) continue;
    s.mark[st] = s.generation;
    switch (program.op[st]) {
      case OP_SPLIT:
        stack[top++] = program.out2[st] ?? 0;
        stack[top++] = program.out1[st] ?? 0;
        break;
      case OP_ASSERT_START:
        if (pos === 0) stack[top++] = program.out1[st] ?? 0;
        break;
      case OP_ASSERT_END:
        if (pos === end) stack[top++] = program.out1[st] ?? 0;
        break;
      default:
        list[n++] = st;
    }
  }
  return n;
}

function bumpGeneration(s: Scratch): void {
  s.generation++;
  if (s.generation === 0xffffffff) {
    s.mark.fill(0);
    s.generation = 1;
  }
}
