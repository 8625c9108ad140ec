/**
 * TLS from certificate files (issue 13, part 3). One certificate and key
 * per node, and the cluster's CA:
 *
 * - the client port serves https and wss with the node's certificate
 *   (clients check it against the CA: `raftbus --ca`, the SDK's `tls.ca`);
 * - the peer port runs mutual TLS: a peer must present a certificate the CA
 *   signed, and the dialer checks the listener's the same way
 *   (WsTransportOptions.tls). The cluster secret's HMAC handshake still
 *   runs inside: TLS keeps strangers and eavesdroppers out, the secret
 *   proves cluster membership.
 *
 * Files are read once at start; a missing file, a file that is not PEM or
 * a key that does not match its certificate stops the start (exit 2).
 */
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { NodeConfig } from "./config.ts";

/** The PEM material a node serves and checks with. */
export interface NodeTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

type TlsKeys = Pick<NodeConfig, "tlsCert" | "tlsKey" | "tlsCa">;

/** True when the node runs TLS on both ports. */
export function tlsEnabled(c: Pick<NodeConfig, "tlsCert">): boolean {
  return c.tlsCert !== "";
}

/** How the three keys go together (files are checked by loadTls). */
export function tlsProblems(c: TlsKeys): string[] {
  const out: string[] = [];
  if ((c.tlsCert === "") !== (c.tlsKey === "")) out.push("tlsCert and tlsKey: set both (the node's certificate and its key) or neither");
  if (c.tlsCert !== "" && c.tlsCa === "") out.push("tlsCa: required with tlsCert: the CA that signs every member's certificate (peers use mutual TLS)");
  if (c.tlsCert === "" && c.tlsCa !== "") out.push("tlsCa: set without tlsCert and tlsKey; TLS needs this node's certificate and key too");
  return out;
}

/**
 * Reads and checks the files; undefined when TLS is off.
 * @throws Error listing every unreadable or unusable file (the caller reports it as a configuration problem).
 */
export function loadTls(c: TlsKeys): NodeTls | undefined {
  if (c.tlsCert === "") return undefined;
  const problems: string[] = [];
  const read = (key: keyof TlsKeys, what: string): Buffer => {
    try {
      const bytes = readFileSync(c[key]);
      if (!bytes.toString("latin1").includes("-----BEGIN ")) problems.push(`${key}: ${c[key]} is not a PEM file (${what})`);
      return bytes;
    } catch (err) {
      problems.push(`${key}: cannot read ${c[key]}: ${(err as { code?: string }).code ?? String(err)}`);
      return Buffer.alloc(0);
    }
  };
  const tls = { cert: read("tlsCert", "a certificate"), key: read("tlsKey", "a private key"), ca: read("tlsCa", "a CA certificate") };
  if (problems.length === 0) {
    try {
      createSecureContext(tls);
    } catch (err) {
      problems.push(`tlsCert/tlsKey/tlsCa: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length > 0) throw new TlsFilesError(problems);
  return tls;
}

/** The TLS files could not be used; `problems` says which and why. */
export class TlsFilesError extends Error {
  override readonly name = "TlsFilesError";
  readonly code = "INVALID_CONFIG";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  }
}
