/**
 * Signed and encrypted topics on real node processes (issue 13, part 4).
 *
 * - `raftbus key add deploy --topics 'deploy.**'` registers a signing key
 *   through the log; from then on the cluster refuses unsigned publishes to
 *   deploy.* (SIGNATURE_REQUIRED) and ones signed with another secret
 *   (SIGNATURE_INVALID), from the CLI and the SDK; signed ones (CLI
 *   `--sign-key`/RAFTBUS_SIGNING_KEY, SDK `sign`) commit, and a subscriber
 *   verifies them; `key list` never shows the secret; after `key remove`
 *   the topic takes unsigned messages again.
 * - The SDK encrypts a payload end to end (AES-GCM, `encrypt`): what the
 *   nodes store is ciphertext — the plaintext is in no file of any node's
 *   data folder, while an unencrypted control message is found there — and
 *   a subscriber with the key decrypts it; one without it cannot.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, formatTopicKey, generatePayloadKey, formatPayloadKey, RaftbusError } from "@raftbus/client/node";
import type { Msg, RaftbusClient } from "@raftbus/client/node";
import { runCliInProcess as runCli } from "../../packages/cli/test/helpers/cluster.ts";
import { EXIT } from "../../packages/cli/src/util/exit-codes.ts";
import { LocalCluster, waitFor } from "../support/local-cluster.ts";

let cluster: LocalCluster;
let client: RaftbusClient;
const servers = (): string => cluster.servers().join(",");

beforeAll(async () => {
  cluster = await LocalCluster.start();
  client = await connect({ servers: cluster.servers(), timeoutMs: 15_000, name: "signed-topics" });
}, 90_000);

afterAll(async () => {
  await client?.close();
  await cluster?.destroy();
});

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/** Whether `marker` appears in any file of any node's data folder. */
function onDisk(marker: string): boolean {
  const needle = Buffer.from(marker);
  return cluster.nodes.some((n) => files(n.dataDir).some((f) => readFileSync(f).includes(needle)));
}

/** Wait until every node applied what the leader has applied (so their files hold it). */
async function everyNodeCaughtUp(): Promise<void> {
  const leader = await cluster.leader();
  const index = (await cluster.status(leader))!.appliedIndex;
  await waitFor("every node to apply up to the leader", async () => {
    const sts = await Promise.all(cluster.nodes.map((n) => cluster.status(n)));
    return sts.every((s) => s !== undefined && s.appliedIndex >= index) ? true : undefined;
  }, 20_000);
}

describe("signed topics", () => {
  it("a key guards its topics: unsigned and wrongly signed publishes are refused, signed ones commit and verify", async () => {
    const added = await runCli(["key", "add", "deploy", "--topics", "deploy.**", "--json", "--servers", servers()]);
    expect(added.code, added.stderr).toBe(EXIT.OK);
    const { key, fingerprint } = JSON.parse(added.stdout) as { key: string; fingerprint: string };
    expect(key).toMatch(/^rbtk1\.deploy\.[A-Za-z0-9_-]{43}$/);

    // From the start: the signed messages are the only ones a guarded topic holds.
    const got: Msg[] = [];
    const sub = await client.subscribe("deploy.**", { from: "earliest", handler: (m: Msg) => { got.push(m); } });
    const forged = formatTopicKey({ name: "deploy", key: new Uint8Array(randomBytes(32)) });
    const code = (p: Promise<unknown>) => p.then(() => "ok", (e: RaftbusError) => e.code);
    const [unsigned, wrong, ok, sdkUnsigned, unguarded] = await Promise.all([
      runCli(["pub", "deploy.web", '{"v":1}', "--servers", servers()]),
      runCli(["pub", "deploy.web", '{"v":1}', "--servers", servers()], { env: { RAFTBUS_SIGNING_KEY: forged } }),
      runCli(["pub", "deploy.web", '{"v":2}', "--servers", servers()], { env: { RAFTBUS_SIGNING_KEY: key } }),
      code(client.publish("deploy.db", { v: 1 })),
      // Topics no key guards take anything.
      code(client.publish("other.web", { v: 1 })),
      client.publish("deploy.db", { v: 3 }, { sign: key, headers: { env: "prod" } }),
    ]);
    expect(unsigned.code).toBe(EXIT.FAILED);
    expect(unsigned.stderr).toMatch(/^raftbus: SIGNATURE_REQUIRED: topic deploy\.web accepts only messages signed with one of its keys \(deploy\)/);
    expect(wrong.code).toBe(EXIT.FAILED);
    expect(wrong.stderr).toMatch(/^raftbus: SIGNATURE_INVALID: .*does not match the message/);
    expect(ok.code, ok.stderr).toBe(EXIT.OK);
    expect(sdkUnsigned).toBe("SIGNATURE_REQUIRED");
    expect(unguarded).toBe("ok");

    await waitFor("the two signed messages", () => (got.length >= 2 ? true : undefined), 15_000);
    expect(got.map((m) => m.json<{ v: number }>().v).sort()).toEqual([2, 3]);
    for (const m of got) {
      expect(m.verifySignature([key])).toBe("verified");
      expect(m.verifySignature([forged])).toBe("invalid");
    }
    await sub.unsubscribe();

    const [listed, again] = await Promise.all([
      runCli(["key", "list", "--json", "--servers", servers()]),
      code(client.keys.add("deploy", "x")),
    ]);
    expect(JSON.parse(listed.stdout)).toEqual({ keys: [{ name: "deploy", pattern: "deploy.**", fingerprint, createdAt: expect.any(Number) }] });
    expect(listed.stdout).not.toContain(key.split(".")[2]);
    expect(again).toBe("KEY_EXISTS");

    const removed = await runCli(["key", "remove", "deploy", "--servers", servers()]);
    expect(removed.code, removed.stderr).toBe(EXIT.OK);
    expect(await code(client.publish("deploy.web", { v: 4 }))).toBe("ok");
    expect(await code(client.keys.remove("deploy"))).toBe("KEY_NOT_FOUND");
  }, 120_000);
});

describe("encrypted payloads", () => {
  it("the nodes store ciphertext only; a subscriber with the key decrypts, one without cannot", async () => {
    const key = generatePayloadKey();
    const secret = `PLAINTEXT-${randomBytes(12).toString("hex")}`;
    const control = `CONTROL-${randomBytes(12).toString("hex")}`;
    await client.publish("vault.codes", { secret }, { encrypt: formatPayloadKey(key) });
    await client.publish("vault.control", { control });
    await everyNodeCaughtUp();
    // The scan can see payloads (the unencrypted control is found); the encrypted one is nowhere.
    expect(onDisk(control), "the control message is in the nodes' files").toBe(true);
    expect(onDisk(secret), "the encrypted message's plaintext is in the nodes' files").toBe(false);

    const got: Msg[] = [];
    const sub = await client.subscribe("vault.codes", { from: "earliest", handler: (m: Msg) => { got.push(m); } });
    await waitFor("the encrypted message", () => (got.length >= 1 ? true : undefined), 15_000);
    await sub.unsubscribe();
    const m = got[0]!;
    expect(m.encrypted).toBe(true);
    expect(Buffer.from(m.payload).includes(Buffer.from(secret))).toBe(false);
    expect(await m.decryptJson<{ secret: string }>([formatPayloadKey(generatePayloadKey()), formatPayloadKey(key)])).toEqual({ secret });
    const refused = await m.decrypt(generatePayloadKey()).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(RaftbusError);
    expect((refused as RaftbusError).code).toBe("DECRYPTION_FAILED");
  }, 60_000);
});
