/**
 * A stand-in node for the fault-layer tests: echoes WebSocket messages on
 * its peer port, and on its client port answers `GET /probe?to=host:port&n=N`
 * by sending N messages to that peer address and reporting which echoes
 * came back and their round-trip times. Like a raftbus dialer, it opens
 * each connection with a `hello` naming itself (the loopback layer's proxy
 * learns the dialer from it); hellos are neither echoed nor counted.
 */
import { createServer } from "node:http";
import { WebSocket, WebSocketServer } from "ws";
import { helloPacket } from "./hello.ts";

const { id, bindHost, peerPort, clientPort } = JSON.parse(process.argv[2] ?? "{}") as { id: string; bindHost: string; peerPort: number; clientPort: number };

let arrived = 0;
const wss = new WebSocketServer({ host: bindHost, port: peerPort });
wss.on("connection", (ws) => {
  let greeted = false;
  ws.on("message", (data) => {
    if (!greeted) {
      greeted = true;
      return;
    }
    arrived++;
    ws.send(data as Buffer);
  });
});

function probe(to: string, n: number, timeoutMs: number): Promise<{ received: number[]; rttMs: number[] }> {
  return new Promise((resolve) => {
    const received: number[] = [];
    const rttMs: number[] = [];
    const sentAt = new Map<number, number>();
    const ws = new WebSocket(`ws://${to}/`, { handshakeTimeout: timeoutMs });
    const done = () => {
      clearTimeout(timer);
      ws.terminate();
      resolve({ received, rttMs });
    };
    const timer = setTimeout(done, timeoutMs);
    ws.on("error", () => undefined);
    ws.on("open", () => {
      ws.send(helloPacket(id, to));
      for (let i = 0; i < n; i++) {
        sentAt.set(i, Date.now());
        ws.send(Buffer.from(String(i)));
      }
    });
    ws.on("message", (data) => {
      const i = Number(String(data));
      received.push(i);
      rttMs.push(Date.now() - (sentAt.get(i) ?? Date.now()));
      if (received.length === n) done();
    });
  });
}

createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname === "/arrived") {
    res.end(String(arrived));
    return;
  }
  if (url.pathname !== "/probe") {
    res.end("probe node\n");
    return;
  }
  const to = url.searchParams.get("to") ?? "";
  probe(to, Number(url.searchParams.get("n") ?? 10), Number(url.searchParams.get("timeoutMs") ?? 2000)).then((r) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(r));
  }, () => res.end("{}"));
}).listen(clientPort, bindHost);
