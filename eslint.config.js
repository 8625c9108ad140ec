// Lint rules for raftbus. The important one: packages/raft/src/core is a pure
// state machine (STYLE.md practice 1) — no timers, clocks, randomness, sockets
// or disk. Time arrives as tick(), randomness through an injected seeded source.
import tseslint from "typescript-eslint";

const impureGlobals = [
  "setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval",
  "clearImmediate", "queueMicrotask", "performance", "process", "require", "fetch",
  "WebSocket", "crypto",
].map((name) => ({ name, message: "the Raft core does no I/O and reads no clock: pass it in through tick()/step() or the injected Rand" }));

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "data/**", ".tmp/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/no-explicit-any": "error",
      "no-empty": ["error", { allowEmptyCatch: false }],
    },
  },
  {
    files: ["packages/raft/src/core/**/*.ts"],
    rules: {
      "no-restricted-globals": ["error", ...impureGlobals],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "no clocks in the Raft core: time is tick()" },
        { object: "Math", property: "random", message: "no ambient randomness in the Raft core: use the injected Rand" },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date']", message: "no clocks in the Raft core: time is tick()" },
      ],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*", "fs", "fs/*", "net", "dgram", "http", "https", "child_process", "timers", "timers/*", "crypto", "os", "worker_threads"], message: "the Raft core does no I/O" },
            { group: ["ws", "level", "classic-level", "msgpackr", "pino"], message: "the Raft core does no I/O: the driver (packages/raft/src/node) owns sockets and disk" },
            { group: ["tsyringe", "reflect-metadata"], message: "core classes never import tsyringe (STYLE.md practice 10)" },
          ],
        },
      ],
    },
  },
);
