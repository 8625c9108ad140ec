/** PrefixTrie against a naive model: `under(text)` yields exactly the ids whose prefix `text` starts with. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PrefixTrie } from "../../src/pattern/prefix-trie.ts";

const seed = process.env["RAFTBUS_SEED"] === undefined ? Date.now() : Number(process.env["RAFTBUS_SEED"]);

describe("prefix trie", () => {
  it("yields exactly the values whose prefix the text starts with, across inserts and deletes (model; seed printed on failure)", () => {
    const text = fc.array(fc.constantFrom("a", "b", "."), { maxLength: 5 }).map((cs) => cs.join(""));
    const op = fc.oneof(
      fc.record({ kind: fc.constant("insert" as const), id: fc.integer({ min: 0, max: 7 }), prefix: text }),
      fc.record({ kind: fc.constant("delete" as const), id: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant("under" as const), text }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 50 }), (ops) => {
      const trie = new PrefixTrie<number>();
      const model = new Map<string, { prefix: string; value: number }>();
      ops.forEach((o, step) => {
        if (o.kind === "insert") {
          const old = model.get(`i${o.id}`);
          if (old !== undefined) trie.delete(old.prefix, `i${o.id}`);
          trie.insert(o.prefix, `i${o.id}`, step);
          model.set(`i${o.id}`, { prefix: o.prefix, value: step });
        } else if (o.kind === "delete") {
          const old = model.get(`i${o.id}`);
          if (old !== undefined) trie.delete(old.prefix, `i${o.id}`);
          model.delete(`i${o.id}`);
        } else {
          const want = [...model].filter(([, v]) => o.text.startsWith(v.prefix)).map(([id, v]) => [id, v.value]).sort();
          expect([...trie.under(o.text)].sort()).toEqual(want);
        }
        expect(trie.size).toBe(model.size);
      });
    }), { seed, numRuns: 300 });
  });

  it("a lookup visits the values under the text's prefixes only, however many others are held", () => {
    const trie = new PrefixTrie<number>();
    for (let i = 0; i < 10_000; i++) trie.insert(`site.z${i}`, `r${i}`, i);
    trie.insert("", "everything", -1);
    expect([...trie.under("site.z42x")].map(([id]) => id).sort()).toEqual(["everything", "r4", "r42"]);
    expect([...trie.under("other")].map(([id]) => id)).toEqual(["everything"]);
  });
});
