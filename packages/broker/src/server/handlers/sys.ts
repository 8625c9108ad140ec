/**
 * System-event requests: `sys.status` (any node answers for itself),
 * `sys.set` and `sys.diagnose` (the leader commits a control document),
 * `sys.forward` (a follower's events; authenticated, see system-events.ts).
 */
import { RaftbusError } from "@raftbus/client/protocol";
import type {
  EmptyBody, SysDiagnoseRequest, SysDiagnoseResponse, SysForwardRequest, SysForwardResponse, SysSetRequest, SysStatusResponse,
} from "@raftbus/client/protocol";
import type { SystemEvents } from "../../sys/system-events.ts";
import type { HandlerContext } from "../node-server.ts";
import type { ClientSession } from "../session.ts";
import { actorOf } from "./actor.ts";
import { requireLeader } from "./leader.ts";

function sysOf(ctx: HandlerContext): SystemEvents {
  const sys = ctx.server.sys;
  if (sys === undefined) throw new RaftbusError("BAD_REQUEST", "system events are not running on this node");
  return sys;
}

/** `sys.status`. */
export async function sysStatus(ctx: HandlerContext, _session: ClientSession, _body: EmptyBody): Promise<SysStatusResponse> {
  return sysOf(ctx).status();
}

/** `sys.set`. */
export async function sysSet(ctx: HandlerContext, session: ClientSession, body: SysSetRequest): Promise<SysStatusResponse> {
  requireLeader(ctx);
  return sysOf(ctx).set(body.settings, body.reset === true, actorOf(session));
}

/** `sys.diagnose`. */
export async function sysDiagnose(ctx: HandlerContext, session: ClientSession, body: SysDiagnoseRequest): Promise<SysDiagnoseResponse> {
  requireLeader(ctx);
  return { requestId: await sysOf(ctx).diagnose(body.node, actorOf(session)) };
}

/** `sys.forward`. */
export async function sysForward(ctx: HandlerContext, _session: ClientSession, body: SysForwardRequest): Promise<SysForwardResponse> {
  requireLeader(ctx);
  return { accepted: await sysOf(ctx).acceptForward(body) };
}
