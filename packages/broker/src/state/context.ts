/**
 * What every apply handler works with: the state, the call's write set, the
 * entry's Raft index and the log time.
 */
import type { Txn } from "../store/txn.ts";
import type { SubscriptionRef } from "../commands/types.ts";
import type { BrokerState } from "./state.ts";

/** Local effects an apply call asks for, run by the state machine after its batch commits. */
export interface ApplyEffects {
  /** Delivery items applied (accepted or not): their dispatcher reservations end. */
  readonly settledReservations: SubscriptionRef[];
  /** Subscriptions deleted: their dispatcher state is dropped. */
  readonly deletedSubscriptions: string[];
  /** A compact maintenance command ran: compact LevelDB after the commit. */
  compactRequested: boolean;
}

/** The context of applying one entry. */
export interface ApplyContext {
  readonly state: BrokerState;
  readonly txn: Txn;
  /** Raft index of the entry being applied. */
  readonly index: number;
  /** Log time: max of every applied command's `now` (README "Log time"). */
  readonly now: number;
  readonly effects: ApplyEffects;
}
