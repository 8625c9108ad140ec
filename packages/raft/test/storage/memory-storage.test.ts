/** The reference implementation passes the conformance suite through its async adapter. */
import { storageConformance } from "./conformance.ts";
import { MemoryAdapter } from "./helpers.ts";

storageConformance("MemoryStorage", () => ({
  create: async (bootstrap) => MemoryAdapter.fresh(bootstrap),
  restart: async (s) => {
    if (!(s instanceof MemoryAdapter)) throw new TypeError("not a MemoryAdapter");
    await s.close();
    return new MemoryAdapter(s.inner.clone());
  },
  cleanup: async () => {},
}));
