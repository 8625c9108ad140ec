/**
 * GET a member's HTTP endpoint (/v1/status, /v1/digest) as a node does for
 * `cluster status` and `cluster finalize-upgrade`: plain http, or https
 * checked against the cluster's CA when the node runs TLS (the global fetch
 * cannot be given a CA). Bounded in time and size.
 */
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import type { IncomingMessage } from "node:http";
import type { PeerSpec } from "./config.ts";
import type { NodeTls } from "./tls.ts";

/** A member's answer larger than this is not read. */
const MEMBER_RESPONSE_BYTES_MAX = 1024 * 1024;

/** The parsed JSON body of a 2xx answer, or undefined (unreachable, an error status, too large, not JSON). */
export function getMemberJson(p: PeerSpec, path: string, tls: NodeTls | undefined, timeoutMs: number): Promise<unknown> {
  const url = `${tls === undefined ? "http" : "https"}://${p.host}:${p.clientPort}${path}`;
  return new Promise((resolve) => {
    const done = (res: IncomingMessage): void => {
      if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) {
        res.resume();
        return resolve(undefined);
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on("data", (c: Buffer) => {
        bytes += c.length;
        if (bytes > MEMBER_RESPONSE_BYTES_MAX) {
          req.destroy();
          return resolve(undefined);
        }
        chunks.push(c);
      });
      res.on("end", () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown);
        } catch {
          resolve(undefined);
        }
      });
      res.on("error", () => resolve(undefined));
    };
    const options = { timeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) };
    const req = tls === undefined ? httpGet(url, options, done) : httpsGet(url, { ...options, ca: tls.ca }, done);
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}
