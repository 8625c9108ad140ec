/**
 * The live dashboard at `/` (SPEC §7): static files served from the
 * package. The page is bundled at build time (scripts/build-dashboard.mjs,
 * esbuild: the SDK's browser build plus the page's script), never at run
 * time; it talks to the cluster over the SDK and its own `$sys.` topics.
 */
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";

/** Where the page's files are (the same relative place from src/ and dist/). */
const ROOT = fileURLToPath(new URL("../../dashboard/", import.meta.url));

/** Path → file and content type. Nothing else is served (no directory walking). */
const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/dashboard/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  "/dashboard/app.js": { file: "dist/app.js", type: "text/javascript; charset=utf-8" },
};

/** Serve a dashboard file; returns false when the path is not one. */
export function serveDashboard(req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const f = FILES[path];
  if (f === undefined || (req.method !== "GET" && req.method !== "HEAD")) return false;
  readFile(ROOT + f.file).then(
    (body) => {
      res.writeHead(200, { "content-type": f.type, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
      res.end(req.method === "HEAD" ? undefined : body);
    },
    () => {
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
      res.end("the dashboard is not built: run `pnpm build` (it bundles packages/broker/dashboard with esbuild)\n");
    },
  );
  return true;
}
