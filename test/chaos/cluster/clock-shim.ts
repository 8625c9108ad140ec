/**
 * Test-only preload (`node --import tsx --import clock-shim.ts …`): offsets
 * `Date.now()` of a node process by the number of milliseconds written in
 * the file named by RAFTBUS_CHAOS_CLOCK_FILE, re-read every 100 ms, so a
 * chaos run can jump one node's wall clock while it runs. The product reads
 * the wall clock through `Date.now()` (the leader stamps commands with it;
 * log time is the maximum over entries); monotonic timers are untouched,
 * as a real clock step leaves them.
 */
import { readFileSync } from "node:fs";

const file = process.env["RAFTBUS_CHAOS_CLOCK_FILE"];
if (file !== undefined && file !== "") {
  const realNow = Date.now.bind(Date);
  let offsetMs = 0;
  const read = (): void => {
    try {
      const v = Number(readFileSync(file, "utf8").trim());
      offsetMs = Number.isFinite(v) ? v : 0;
    } catch {
      offsetMs = 0;
    }
  };
  read();
  setInterval(read, 100).unref();
  Date.now = () => realNow() + offsetMs;
}
