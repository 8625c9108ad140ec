/** Body group: system events — settings, diagnostics, forwarding (docs/system-events.md). */
import { Type } from "@sinclair/typebox";
import { PublishMessage } from "./messages.ts";
import { arr, bool, Empty, map, nat, nonEmptyStr, nullable, oneOf, opt, shape, str } from "./wire.ts";

/** One family's settings as `sys.status` reports them. */
export const SysFamilyStatus = shape("SysFamilyStatus", {
  family: nonEmptyStr("system, health, metrics, lifecycle, alerts, audit, security, diagnostics or logging"),
  enabled: bool("published at all"),
  minSeverity: str("info, warning or critical: events below are not published"),
  intervalMs: nat("health and metrics: report interval"),
  periodic: bool("health and metrics: report every interval even when nothing changed"),
  replicated: bool("a runtime override (sys set) applies"),
});

/** `sys.status` (and `sys.set`) response: the answering node's settings and signing. */
export const SysStatusResponse = shape("SysStatusResponse", {
  nodeId: nonEmptyStr("the answering node"),
  signing: oneOf(["signed", "unsigned"] as const, "unsigned when the cluster runs with the development secret"),
  keyId: nullable(str(), "id of the signing key (raftbus sys key); null when unsigned"),
  families: arr(SysFamilyStatus, "every family"),
  queued: nat("events waiting to be published on this node"),
});

/** `sys.set`: change some families' settings, replicated through the log. */
export const SysSetRequest = shape("SysSetRequest", {
  settings: map(map(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), "field → value", 16), "family → fields to change, e.g. { health: { intervalMs: 10000 } }", 16),
  reset: opt(bool("replace every runtime override instead of merging (back to the config files)")),
});

/** `sys.diagnose`: ask a node (or `*`) to publish a report on `$sys.diagnostics`. */
export const SysDiagnoseRequest = shape("SysDiagnoseRequest", { node: nonEmptyStr("node id, or * for every node") });

/** `sys.diagnose` response. */
export const SysDiagnoseResponse = shape("SysDiagnoseResponse", { requestId: nonEmptyStr("carried by the reports") });

/** `sys.forward` (node to node): a follower hands its system events to the leader. */
export const SysForwardRequest = shape("SysForwardRequest", {
  origin: nonEmptyStr("the forwarding node"),
  sentAt: nat("its clock when sending (ms since epoch)"),
  messages: arr(PublishMessage, "signed $sys. messages", 500),
  mac: nonEmptyStr("base64url MACs (dot-separated) under keys derived from the cluster secret"),
});

/** `sys.forward` response. */
export const SysForwardResponse = shape("SysForwardResponse", { accepted: nat("messages committed") });

/** The request kinds of this group. */
export const sysKinds = {
  "sys.status": { request: Empty, response: SysStatusResponse, servedBy: "any" },
  "sys.set": { request: SysSetRequest, response: SysStatusResponse, servedBy: "leader" },
  "sys.diagnose": { request: SysDiagnoseRequest, response: SysDiagnoseResponse, servedBy: "leader" },
  "sys.forward": { request: SysForwardRequest, response: SysForwardResponse, servedBy: "leader" },
} as const;
