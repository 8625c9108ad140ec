/**
 * Injection tokens of the composition root (STYLE.md practice 10): explicit
 * tokens, because esbuild emits no decorator metadata.
 */
export const TOKENS = {
  Config: Symbol("NodeConfig"),
  Logger: Symbol("Logger"),
  Storage: Symbol("RaftStorage"),
  Snapshots: Symbol("SnapshotStore"),
  Transport: Symbol("PeerTransport"),
  StateMachine: Symbol("BrokerStateMachine"),
  RaftNode: Symbol("RaftNode"),
  Handlers: Symbol("HandlerTable"),
  NodeServer: Symbol("NodeServer"),
} as const;
