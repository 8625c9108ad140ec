/** Who made a request, as audit and security events name them. */
import type { Actor } from "../../sys/events.ts";
import type { ClientSession } from "../session.ts";

/** The session's client name (or id), session id, and the user it authenticated as. */
export function actorOf(session: ClientSession): Actor {
  const user = session.user;
  return { client: session.name || session.clientId || "unknown", session: session.id, ...(user !== undefined ? { user } : {}) };
}
