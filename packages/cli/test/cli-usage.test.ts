/** The CLI in-process, for everything that fails before (or instead of) talking to a cluster. */
import { describe, expect, it } from "vitest";
import { run } from "../src/cli.ts";
import { EXIT } from "../src/util/exit-codes.ts";
import { fakeIo } from "./helpers/fake-io.ts";

async function cli(argv: string[], options: Parameters<typeof fakeIo>[0] = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = fakeIo(options);
  const code = await run(argv, io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe("cli: usage errors exit 2 before connecting", () => {
  it.each([
    [["bogus"], /Unknown argument: bogus/],
    [["topic"], /say which: raftbus topic create\|list\|info\|delete/],
    [["pub", "demo", "x", "--ttl", "5x"], /--ttl: "5x" is not a duration; use a number and a unit/],
    [["pub", "demo", "x", "--priority", "urgent"], /Invalid values:[\s\S]*priority/],
    [["topic", "create", "demo", "--max-bytes", "12q"], /--max-bytes: "12q" is not a size/],
    [["sub", "demo", "--from", "yesterday"], /--from: "yesterday"/],
    [["topic", "list", "--timeout", "soon"], /--timeout: "soon" is not a duration/],
    [["topic", "list", "--servers", "http://x"], /--servers: server address http:\/\/x must start with ws:\/\//],
    [["cluster", "add-node", "n4", "--peer", "nope", "--client", "h:1"], /--peer must be host:port/],
    [["pub", "demo", "--unknown-flag", "x"], /Unknown argument/],
  ])("%j", async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  it("asks for a payload when there is none and stdin is a terminal", async () => {
    const r = await cli(["pub", "demo"], { tty: true });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain("no payload: give one (raftbus pub demo 'hello'), use --file path, or pipe it in");
  });

  it("refuses destructive commands without --yes and without a terminal", async () => {
    const r = await cli(["dlq", "purge", "demo"]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain("refusing without --yes");
  });

  it("keeps numbers-looking payloads as text", async () => {
    // Unreachable port: the command gets as far as connecting, with the payload parsed.
    const r = await cli(["pub", "demo", "007", "--servers", "ws://127.0.0.1:1"]);
    expect(r.code).toBe(EXIT.UNREACHABLE);
  });
});

describe("cli: unreachable servers exit 4 quickly", () => {
  it("names the addresses and says how to start a cluster", async () => {
    const started = Date.now();
    const r = await cli(["topic", "list", "--servers", "ws://127.0.0.1:1,ws://127.0.0.1:2"]);
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr).toContain("raftbus: no raftbus server reachable at ws://127.0.0.1:1, ws://127.0.0.1:2 (ECONNREFUSED)");
    expect(r.stderr).toContain("start one with `pnpm start`");
    // Two refusals per server, not the whole connect deadline.
    expect(Date.now() - started).toBeLessThan(2500);
  });
});
