/** Pick and build the fault layer: namespaces where possible, else loopback proxies. */
import type { Registry } from "../support/registry.ts";
import type { FaultLayer } from "./fault-layer.ts";
import { LoopbackLayer } from "./loopback-layer.ts";
import { NetnsLayer, netnsAvailable } from "./netns-layer.ts";

/** Which layer to use; `auto` prefers namespaces. */
export type LayerChoice = "auto" | "netns" | "loopback";

/** Build the layer for `ids`; `notes` receives why auto fell back, if it did. */
export async function openFaultLayer(choice: LayerChoice, ids: readonly string[], registry: Registry, opts: {
  sockDir: string; seed: number; logFd: number; notes?: string[];
}): Promise<FaultLayer> {
  if (choice !== "loopback") {
    const probe = netnsAvailable(registry);
    if (probe.ok) return NetnsLayer.create(ids, registry, opts.sockDir, opts.seed, opts.logFd);
    if (choice === "netns") throw new Error(`network namespaces unavailable: ${probe.reason}`);
    opts.notes?.push(`network namespaces unavailable (${probe.reason}); using loopback proxies`);
  }
  return LoopbackLayer.create(ids, registry, opts.seed, opts.logFd);
}
